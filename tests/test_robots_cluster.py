"""robots.txt with the store on a Redis Cluster (issue 16): the per-origin cache
(`Keys.robots`), the refusals recorded with a source's state, and health reading them back,
with the ingest run as a job by a real arq worker whose queue is the test's plain Redis.

tests/test_robots.py holds the rules on one Redis; here two origins' caches and two
sources' state are spread over three masters.
"""

from __future__ import annotations

from syndicator.fetch.robots import CACHE_TTL, DISALLOW_ALL, RULES, UNREACHABLE_TTL, origin_of
from syndicator.ingest import ingest_source
from syndicator.operate.health import source_health
from syndicator.runtime import Runtime
from syndicator.store.connection import RedisUrls
from syndicator.store.sources import ROBOTS_REFUSALS_KEPT
from tests.builders import write_config
from tests.conftest import running_upstream
from tests.harness import run_burst_worker
from tests.redis_cluster import RedisCluster
from tests.test_pages_e2e import ARTICLE_PATH, zhbf_site
from tests.test_robots import POLITE_LOOPBACK, robots


async def test_two_origins_robots_txt_cached_on_the_cluster_and_refusals_recorded_by_a_worker_job(
    tmp_path, upstream, redis_url, cluster: RedisCluster, cluster_store, prefix
):
    """A sitemap source whose 12 pages its robots.txt disallows, and a listing source on
    another origin whose robots.txt answers 503: one worker run ingests both. Each robots.txt
    is fetched once and cached on the cluster for its time to live; no refused page is
    requested; health names the refusals. A second poll reads the cache, not the origin."""
    robots(upstream, "User-agent: *\nDisallow: /a/\n")
    pages = [upstream.url(f"/a/{n}.html") for n in range(1, 13)]
    urlset = "".join(f"<url><loc>{url}</loc></url>" for url in pages)
    upstream.put(
        "/sitemap.xml",
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urlset}</urlset>'.encode(),
        "application/xml",
    )
    async with running_upstream() as other:
        zhbf_site(other)
        robots(other, "oops", status=503)
        config = write_config(
            tmp_path,
            redis_url=redis_url,
            prefix=prefix,
            categories=[{"slug": "qinggan", "title": "情感", "language": "zh"}],
            sources=[
                {"id": "sitemap", "url": upstream.url("/sitemap.xml"), "kind": "sitemap", **POLITE_LOOPBACK},
                {"id": "listing", "url": other.url("/qinggan/gushi/"), "kind": "listing", **POLITE_LOOPBACK},
            ],
            extra_server=f'store_url = "{cluster.url}"',
        )
        urls = RedisUrls(queue=redis_url, store=cluster.url)
        await run_burst_worker(config, urls)  # the ingest jobs
        runtime = Runtime.open(config, urls)
        try:
            sitemap_health = await source_health(runtime, "sitemap")
            listing_health = await source_health(runtime, "listing")
            again = await ingest_source(runtime, "sitemap", force=True)
            keys = runtime.keys
            rules_key = keys.robots(origin_of(upstream.url("/")))
            down_key = keys.robots(origin_of(other.url("/")))
            cached = [await cluster_store.hget(k, "outcome") for k in (rules_key, down_key)]
            ttls = [await cluster_store.ttl(k) for k in (rules_key, down_key)]
            on_queue = await runtime.bus.exists(rules_key, down_key, keys.source_state("sitemap"))
        finally:
            await runtime.close()

        assert [len(upstream.seen("/robots.txt")), len(other.seen("/robots.txt"))] == [1, 1]
        assert all(upstream.seen(f"/a/{n}.html") == [] for n in range(1, 13))
        assert other.seen("/qinggan/gushi/") == [] and other.seen(ARTICLE_PATH) == []

        reason = f"disallowed by {upstream.url('/robots.txt')} for Syndicator"
        assert sitemap_health.robots_refused == 12
        recent = sitemap_health.recent_robots_refusals  # the page jobs ran concurrently: any order
        assert len(recent) == ROBOTS_REFUSALS_KEPT and len(set(recent)) == ROBOTS_REFUSALS_KEPT
        assert set(recent) <= {f"{url}: {reason}" for url in pages}
        assert sitemap_health.last_robots_refusal == recent[0]
        assert listing_health.robots_refused == 1
        assert listing_health.last_robots_refusal is not None
        assert listing_health.last_robots_refusal.startswith(
            f"{other.url('/qinggan/gushi/')}: {other.url('/robots.txt')} unreachable (answered HTTP 503"
        )
        assert sorted(p.url for p in again.pages if p.robots_refused) == sorted(pages)
        assert len(upstream.seen("/robots.txt")) == 1  # the second poll read the cache
        assert cached == [RULES.encode(), DISALLOW_ALL.encode()]
        assert 0 < ttls[0] <= CACHE_TTL and 0 < ttls[1] <= UNREACHABLE_TTL
        assert on_queue == 0  # nothing of the store on the queue's Redis
