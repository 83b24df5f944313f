"""The operators' dashboard at /admin/ in a real Chromium (Debian's, driven by Playwright),
against the real app, store, queue and worker; and the fetch timeline and articles endpoints.

Chromium comes from Debian's package (`.ci/run` installs it; never `playwright install`,
which downloads a browser): without it the browser tests skip locally and fail in CI.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import ClientSession
from playwright.async_api import Browser, Page, expect

from syndicator.ingest.report import IngestReport
from syndicator.store.connection import RedisUrls
from syndicator.store.heartbeats import write_heartbeat
from syndicator.store.keys import Keys
from syndicator.store.sources import FETCH_LOG_SIZE, record_outcome
from syndicator.web.admin.security import SECURITY_HEADERS
from tests.admin_helpers import TOKEN, WRONG, admin_serving, store_state
from tests.conftest import running_upstream
from tests.dashboard_helpers import chromium, hostile_error, hostile_title, log_in, prepare, sample_config
from tests.harness import run_burst_worker
from tests.programs import require_program
from tests.redis_cluster import RedisCluster
from tests.upstream import Upstream

WAIT_MS = 20_000  # how long a page may take to show what it must (not a timed assertion)


@pytest.fixture
def token_env(monkeypatch):
    monkeypatch.delenv("SYNDICATOR_ADMIN_TOKEN_FILE", raising=False)
    monkeypatch.setenv("SYNDICATOR_ADMIN_TOKEN", TOKEN)


@pytest.fixture
def browser_program() -> str:
    """Checked before anything is built, so a machine without Chromium skips at once."""
    return require_program("chromium", "chromium")


@pytest.fixture
async def recorder() -> AsyncIterator[Upstream]:
    """Another loopback origin: serves the attacker's page, records any request (a 'hit')."""
    async with running_upstream() as server:
        yield server


@pytest.fixture
async def dashboard(tmp_path, upstream, recorder, redis, redis_url, prefix, token_env):
    config = sample_config(tmp_path, upstream, redis_url, prefix, recorder.url("/hit"))
    async with admin_serving(config, redis_url) as (runtime, client):
        await prepare(runtime, recorder.url("/hit"))
        yield config, runtime, client, str(client.server.make_url("/"))


@pytest.fixture
async def browser(browser_program) -> AsyncIterator[Browser]:
    async with chromium(browser_program) as launched:
        yield launched


@contextlib.asynccontextmanager
async def new_page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context()
    page = await context.new_page()
    dialogs: list[str] = []
    errors: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield page
    finally:
        await context.close()
    assert dialogs == []  # nothing ever alerted
    assert errors == []  # the script never threw


def row(page: Page, source_id: str):
    return page.locator(f'#sources tr[data-source="{source_id}"]')


# ---------------------------------------------------------------- in the browser


async def test_the_token_prompt_keeps_the_token_in_session_storage_only(browser, dashboard):
    *_, base = dashboard
    async with new_page(browser) as page:
        await page.goto(f"{base}admin/")
        await expect(page.locator("#login")).to_be_visible()
        await expect(page.locator("#sources")).to_have_count(0)

        await log_in(page, base, WRONG)
        await expect(page.locator("#login-error")).to_contain_text("wrong admin token", timeout=WAIT_MS)
        assert await page.evaluate("sessionStorage.length") == 0

        await log_in(page, base)
        await expect(row(page, "python-blog")).to_be_visible(timeout=WAIT_MS)
        assert await page.evaluate("sessionStorage.getItem('syndicator-admin-token')") == TOKEN
        assert await page.evaluate("localStorage.length") == 0
        assert await page.context.cookies() == []
        assert await page.evaluate("document.cookie") == ""

        # A reload keeps the tab's token; a new tab (another session) asks again.
        await page.reload()
        await expect(row(page, "python-blog")).to_be_visible(timeout=WAIT_MS)
        other = await page.context.new_page()
        await other.goto(f"{base}admin/")
        await expect(other.locator("#login")).to_be_visible()

        await page.click("#forget-token")
        await expect(page.locator("#login")).to_be_visible()
        assert await page.evaluate("sessionStorage.length") == 0


async def test_sources_table_sorts_filters_and_shows_state_and_errors(browser, dashboard):
    *_, base = dashboard
    async with new_page(browser) as page:
        await log_in(page, base)
        await expect(row(page, "broken")).to_be_visible(timeout=WAIT_MS)
        await expect(row(page, "broken").locator(".state")).to_have_text("failing")
        last_error = row(page, "broken").locator(".last-error")
        await expect(last_error).to_have_text("HTTP 500 Internal Server Error")
        await expect(row(page, "quiet").locator(".state")).to_have_text("paused")
        await expect(row(page, "python-blog").locator(".state")).to_have_text("ok")
        ids = page.locator("#sources tbody tr .source-id")
        await expect(ids).to_have_text(["broken", "evil", "missing", "news", "python-blog", "quiet"])

        await page.click('#sources th[data-key="articles_stored"]')  # ascending, then descending
        await page.click('#sources th[data-key="articles_stored"]')
        await expect(ids.first).to_have_text("python-blog")

        await page.select_option("#state-filter", "failing")
        await expect(ids).to_have_text(["broken", "missing", "evil"])  # 0 articles each: config order
        await page.select_option("#state-filter", "")
        await page.fill("#filter", "daily")
        await expect(ids).to_have_text(["news"])


async def test_reingest_result_appears_without_a_reload(browser, dashboard, redis_url):
    config, *_, base = dashboard
    async with new_page(browser) as page:
        await log_in(page, base)
        await expect(row(page, "news")).to_be_visible(timeout=WAIT_MS)
        await page.evaluate("window.__sameDocument = 42")
        await row(page, "news").locator("button.reingest").click()
        result = row(page, "news").locator(".result")
        await expect(result).to_contain_text("queued", timeout=WAIT_MS)

        await run_burst_worker(config, redis_url)  # a real worker runs the queued run
        await expect(result).to_contain_text("done: not modified (304)", timeout=WAIT_MS)
        assert await page.evaluate("window.__sameDocument") == 42  # no reload happened

        await row(page, "broken").locator("button.force").click()
        failed = row(page, "broken").locator(".result")
        await expect(failed).to_contain_text("queued", timeout=WAIT_MS)
        await run_burst_worker(config, redis_url)
        await expect(failed).to_contain_text("failed: HTTP 500 Internal Server Error", timeout=WAIT_MS)
        assert await page.evaluate("window.__sameDocument") == 42

        # The source page: the two polls of `news` on its timeline, its run, its articles.
        await row(page, "news").locator("a.source-id").click()
        await expect(page.locator("#fetches tbody tr")).to_have_count(2, timeout=WAIT_MS)
        await expect(page.locator("#timeline span")).to_have_count(2)
        await expect(page.locator("#runs tbody tr")).to_have_count(1)  # the first poll was inline: no run
        await expect(page.locator("#articles tbody tr")).to_have_count(2)
        await expect(page.locator("#articles a").first).to_have_attribute(
            "href", "https://news.example/posts/0"
        )


async def test_pause_and_resume_from_the_table(browser, dashboard, redis, prefix):
    *_, base = dashboard
    async with new_page(browser) as page:
        await log_in(page, base)
        await expect(row(page, "python-blog")).to_be_visible(timeout=WAIT_MS)
        await row(page, "python-blog").locator("button.pause").click()
        await expect(row(page, "python-blog").locator(".state")).to_have_text("paused", timeout=WAIT_MS)
        assert await redis.hexists(f"{prefix}halted", "python-blog")
        await expect(row(page, "python-blog").locator("button.resume")).to_be_visible()

        await row(page, "python-blog").locator("button.resume").click()
        await expect(row(page, "python-blog").locator(".state")).to_have_text("ok", timeout=WAIT_MS)
        assert not await redis.hexists(f"{prefix}halted", "python-blog")
        await expect(row(page, "python-blog").locator(".result")).to_have_text("resumed: due now")


async def test_the_queue_view_shows_each_live_workers_host_pid_and_last_beat(browser, dashboard):
    """Heartbeats as a worker writes them (`write_heartbeat`): one beating, one that missed
    its beats (its key still alive). The operator sees who runs, where, and how long ago
    each last said so."""
    _config, runtime, _client, base = dashboard
    now = datetime.now(UTC)
    started = now - timedelta(hours=1)
    await write_heartbeat(
        runtime.redis,
        runtime.keys,
        "build-7:4242:a1b2c3",
        started=started,
        jobs_running=1,
        beat_interval=60,
        now=now - timedelta(seconds=30),
    )
    await write_heartbeat(
        runtime.redis,
        runtime.keys,
        "build-8:5151:d4e5f6",
        started=started,
        jobs_running=0,
        beat_interval=10,
        now=now - timedelta(seconds=25),
    )
    async with new_page(browser) as page:
        await log_in(page, base)
        await page.click('#nav a[href="#/queue"]')
        workers = page.locator("#workers tbody tr")
        await expect(workers).to_have_count(2, timeout=WAIT_MS)
        cells = {
            await row.locator("td").first.inner_text(): await row.locator("td").all_inner_texts()
            for row in await workers.all()
        }
    beating = cells["build-7:4242:a1b2c3"]
    assert beating[1:3] == ["build-7", "4242"]
    assert beating[3] == started.strftime("%Y-%m-%d %H:%M:%S")  # when it started, in UTC
    assert re.fullmatch(r"3\d\.\d\d s", beating[4]), beating[4]  # its last beat, ~30 s ago
    assert beating[5:] == ["1", "alive"]
    missed = cells["build-8:5151:d4e5f6"]
    assert missed[1:3] == ["build-8", "5151"]
    assert re.fullmatch(r"2\d\.\d\d s", missed[4]), missed[4]
    assert missed[5:] == ["0", "stale"]  # more than two beat intervals without a beat


async def test_hostile_title_and_error_show_as_text_and_run_nothing(browser, dashboard, recorder):
    *_, base = dashboard
    hit = recorder.url("/hit")
    async with new_page(browser) as page:
        await log_in(page, base)
        evil = row(page, "evil")
        await expect(evil.locator(".source-title")).to_have_text(hostile_title(hit), timeout=WAIT_MS)
        await expect(evil.locator(".last-error")).to_have_text(hostile_error(hit))
        await expect(page.locator("#view img")).to_have_count(0)
        await expect(page.locator("#view script")).to_have_count(0)

        await evil.locator("a.source-id").click()  # the source page shows them too
        await expect(page.locator("dl.health")).to_contain_text(hostile_title(hit), timeout=WAIT_MS)
        await expect(page.locator("#fetches")).to_contain_text(hostile_error(hit))
        await expect(page.locator("#view img")).to_have_count(0)
        await expect(page.locator("#view script")).to_have_count(0)

        # A request the page makes after it is done loading would come back through here.
        await page.goto(f"{base}admin/#/queue")
        await expect(page.locator("#queue-depth")).to_be_visible(timeout=WAIT_MS)
        assert await page.evaluate("window.__pwned") is None
    assert recorder.seen("/hit") == []


async def test_a_cross_origin_form_post_changes_nothing(browser, dashboard, recorder, redis, prefix):
    *_, base = dashboard
    api = f"{base}admin/api"
    forms = {
        "/reingest.html": (f"{api}/reingest", '{"all": true, "x": "', '"}'),
        "/pause.html": (f"{api}/sources/python-blog/pause", '{"reason": "', '"}'),
    }
    for path, (action, name, value) in forms.items():
        html = (
            f'<form method="POST" action="{action}" enctype="text/plain">'
            f"<input name='{name}' value='{value}'></form>"
            "<script>document.forms[0].submit()</script>"
        )
        recorder.put(path, html.encode(), "text/html")
    async with new_page(browser) as page:
        await log_in(page, base)  # the operator's tab holds the token…
        await expect(row(page, "python-blog")).to_be_visible(timeout=WAIT_MS)
        before = await store_state(redis, prefix)
        attacker = await page.context.new_page()  # …and another site opens in a new tab
        for path, (action, *_) in forms.items():
            async with attacker.expect_response(action) as answer:
                await attacker.goto(recorder.url(path))
            assert (await answer.value).status == 401
        assert await store_state(redis, prefix) == before


# ---------------------------------------------------------------- headers and files


async def test_every_admin_response_carries_the_security_headers(dashboard):
    *_, base = dashboard
    async with ClientSession() as http:
        for path, status, headers in (
            ("admin/", 200, {}),
            ("admin/static/dashboard.js", 200, {}),
            ("admin/static/dashboard.css", 200, {}),
            ("admin/static/nope.js", 404, {}),
            ("admin/static/index.html", 404, {}),
            ("admin/nowhere", 404, {}),  # no route: the dashboard's sub-application answers
            ("admin/api/sources", 401, {}),
            ("admin/api/sources", 200, {"Authorization": f"Bearer {TOKEN}"}),
            ("admin/api/nowhere", 404, {"Authorization": f"Bearer {TOKEN}"}),
        ):
            async with http.get(f"{base}{path}", headers=headers, allow_redirects=False) as resp:
                assert resp.status == status, path
                for name, value in SECURITY_HEADERS.items():
                    assert resp.headers.get(name) == value, (path, name)
                assert "Set-Cookie" not in resp.headers
        async with http.post(f"{base}admin/") as resp:
            assert resp.status == 405
            assert resp.headers["Content-Security-Policy"] == SECURITY_HEADERS["Content-Security-Policy"]
        async with http.get(f"{base}admin", allow_redirects=False) as resp:
            assert (resp.status, resp.headers["Location"]) == (302, "/admin/")
            assert resp.headers["Content-Security-Policy"] == SECURITY_HEADERS["Content-Security-Policy"]
        async with http.get(f"{base}admin/static/dashboard.js") as resp:
            assert resp.headers["Content-Type"].startswith("text/javascript")
            script = await resp.text()
        async with http.get(f"{base}feeds/tech.rss") as resp:  # the rest of the site is untouched
            assert "Content-Security-Policy" not in resp.headers
    # Plain script served by us: nothing from elsewhere, no HTML parsing of data.
    assert "innerHTML" not in script.replace("never through innerHTML", "")
    assert "outerHTML" not in script and "insertAdjacentHTML" not in script and "document.write" not in script
    assert "http://" not in script and "https://" not in script and "import " not in script


async def test_no_token_no_dashboard(tmp_path, upstream, recorder, redis, redis_url, prefix, monkeypatch):
    monkeypatch.delenv("SYNDICATOR_ADMIN_TOKEN", raising=False)
    monkeypatch.delenv("SYNDICATOR_ADMIN_TOKEN_FILE", raising=False)
    config = sample_config(tmp_path, upstream, redis_url, prefix, recorder.url("/hit"))
    async with admin_serving(config, redis_url) as (_, client), ClientSession() as http:
        for path in ("/admin/", "/admin/static/dashboard.js", "/admin/api/sources"):
            async with http.get(client.server.make_url(path)) as resp:
                assert resp.status == 404, path
                assert "SYNDICATOR_ADMIN_TOKEN" in await resp.text()
                assert resp.headers["Cache-Control"] == "no-store"


# ---------------------------------------------------------------- the endpoints behind it


def report(status: str, *, new: int = 0, changed: int = 0, size: int | None = 100) -> IngestReport:
    counts = {"new": new, "changed": changed} if status == "updated" else {}
    return IngestReport(
        "news",
        "http://x.test/",
        status,  # type: ignore[arg-type]
        counts=counts,
        http_status={"updated": 200, "not-modified": 304}.get(status, 503),
        error="news: http://x.test/: HTTP 503" if status == "error" else None,
        reason="HTTP 503 Service Unavailable" if status == "error" else None,
        body_bytes=size,
    )


async def test_the_fetch_timeline_keeps_the_last_50_polls(dashboard):
    _, runtime, client, _ = dashboard
    start = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    source = runtime.config.sources["news"]
    for i in range(FETCH_LOG_SIZE + 5):
        outcome = (
            report("updated", new=i, changed=1, size=1000 + i)
            if i % 3 == 0
            else report("not-modified", size=0)
            if i % 3 == 1
            else report("error", size=None)
        )
        await record_outcome(runtime.redis, runtime.keys, source, outcome, now=start + timedelta(minutes=i))
    answer = await client.call("GET", "/sources/news/fetches")
    assert answer.status == 200, answer.text
    fetches = answer.body["fetches"]
    assert len(fetches) == FETCH_LOG_SIZE == await runtime.redis.llen(runtime.keys.fetch_log("news"))
    newest, oldest = fetches[0], fetches[-1]
    assert newest["at"] == (start + timedelta(minutes=54)).isoformat()  # 54 % 3 == 0: updated
    assert (newest["outcome"], newest["http_status"], newest["bytes"]) == ("updated", 200, 1054)
    assert (newest["new"], newest["changed"], newest["status"]) == (54, 1, "200 ok: 1 changed, 54 new")
    assert oldest["at"] == (start + timedelta(minutes=5)).isoformat()
    errors = [f for f in fetches if f["outcome"] == "error"]
    assert errors and all(f["error"] == "HTTP 503 Service Unavailable" and f["bytes"] is None for f in errors)
    assert all(f["bytes"] == 0 for f in fetches if f["outcome"] == "not-modified")
    three = await client.call("GET", "/sources/news/fetches", params={"limit": "3"})
    assert len(three.body["fetches"]) == 3
    assert (await client.call("GET", "/sources/zzz/fetches")).status == 404
    assert (await client.call("GET", "/sources/news/fetches", params={"limit": "51"})).status == 400


async def test_a_real_poll_records_its_bytes_and_counts(dashboard, upstream):
    _, _, client, _ = dashboard
    [poll] = (await client.call("GET", "/sources/python-blog/fetches")).body["fetches"]
    [request] = upstream.seen("/python.rss")
    assert (poll["outcome"], poll["http_status"], poll["new"], poll["changed"]) == ("updated", 200, 3, 0)
    assert poll["bytes"] == len(upstream.documents["/python.rss"].body) and request.status == 200
    assert poll["duration"] is not None and poll["error"] is None
    [failed] = (await client.call("GET", "/sources/missing/fetches")).body["fetches"]
    assert (failed["outcome"], failed["http_status"], failed["error"]) == ("error", 404, "HTTP 404 Not Found")


async def test_source_articles_newest_first_with_limit(dashboard):
    _, _, client, _ = dashboard
    answer = await client.call("GET", "/sources/python-blog/articles")
    assert answer.status == 200, answer.text
    articles = answer.body["articles"]
    assert [a["title"] for a in articles] == ["python title 0", "python title 1", "python title 2"]
    assert articles[0]["url"] == "https://python.example/posts/0" and articles[0]["categories"] == ["tech"]
    limited = await client.call("GET", "/sources/python-blog/articles", params={"limit": "1"})
    assert [a["title"] for a in limited.body["articles"]] == ["python title 0"]
    assert (await client.call("GET", "/sources/broken/articles")).body == {"articles": []}
    assert (await client.call("GET", "/sources/zzz/articles")).status == 404


async def test_audit_log_and_preview_views(browser, dashboard, redis, prefix):
    *_, base = dashboard
    async with new_page(browser) as page:
        await log_in(page, base)
        await expect(row(page, "news")).to_be_visible(timeout=WAIT_MS)
        await row(page, "news").locator("button.pause").click()
        await expect(row(page, "news").locator(".state")).to_have_text("paused", timeout=WAIT_MS)

        await page.click('#nav a[href="#/audit"]')
        first = page.locator("#audit tbody tr").first
        await expect(first).to_contain_text("pause", timeout=WAIT_MS)
        await expect(first).to_contain_text("news")
        await expect(first).to_contain_text("127.0.0.1")

        await page.click('#nav a[href="#/preview"]')
        await expect(page.locator('#preview-source option[value="python-blog"]')).to_have_count(
            1, timeout=WAIT_MS
        )
        before = await store_state(redis, prefix)
        await page.select_option("#preview-source", "python-blog")
        await page.click("#preview-form button[type=submit]")
        await expect(page.locator("#preview-articles tbody tr")).to_have_count(3, timeout=WAIT_MS)
        await expect(page.locator("#preview-summary")).to_contain_text("3 article(s) would be stored")
        await expect(page.locator("#preview-articles")).to_contain_text("python title 0")

        # Nothing stored: only the audit log (the preview is an action) and the upstream
        # host's politeness slot changed.
        def stored(state):
            return {k: v for k, v in state.items() if k != f"{prefix}audit".encode() and b":host:" not in k}

        assert stored(await store_state(redis, prefix)) == stored(before)


async def test_a_preview_robots_txt_refuses_shows_the_refusal(browser, dashboard, upstream):
    """The page is never fetched; the operator reads why, from the API's `error`."""
    *_, base = dashboard
    upstream.put("/robots.txt", b"User-agent: Syndicator\nDisallow: /private/\n", "text/plain")
    upstream.put("/private/post.html", b"<html><body><p>secret</p></body></html>", "text/html")
    table = {"url": upstream.url("/private/post.html"), "kind": "page", "allow_private_network": True}
    async with new_page(browser) as page:
        await log_in(page, base)
        await page.click('#nav a[href="#/preview"]')
        await page.fill("#preview-table", json.dumps(table))
        await page.click("#preview-form button[type=submit]")
        summary = page.locator("#preview-summary")
        await expect(summary).to_contain_text("0 article(s) would be stored", timeout=WAIT_MS)
        await expect(page.locator("#preview-result p.error")).to_have_text(
            f"disallowed by {upstream.url('/robots.txt')} for Syndicator"
        )
    assert upstream.seen("/private/post.html") == []


async def test_hide_an_article_from_the_source_page(browser, dashboard, redis, prefix):
    *_, base = dashboard
    async with new_page(browser) as page:
        await log_in(page, base)
        await page.goto(f"{base}admin/#/sources/python-blog")
        articles = page.locator("#articles tbody tr")
        await expect(articles).to_have_count(3, timeout=WAIT_MS)
        top = articles.first
        article_id = await top.get_attribute("data-article")
        assert article_id and await redis.exists(Keys(prefix).article(article_id))
        await top.locator("button.hide").click()  # asks first: nothing happens yet
        await expect(top.locator("button.hide")).to_have_text("Hide for good?")
        assert await redis.zscore(Keys(prefix).source_index("all", "python-blog"), article_id) is not None
        await top.locator("button.hide").click()
        await expect(articles).to_have_count(2, timeout=WAIT_MS)
        await expect(page.locator(f'#articles tr[data-article="{article_id}"]')).to_have_count(0)
        assert await redis.zscore(Keys(prefix).source_index("all", "python-blog"), article_id) is None
        await page.click('#nav a[href="#/audit"]')
        await expect(page.locator("#audit tbody tr").first).to_contain_text("hide", timeout=WAIT_MS)


async def test_the_source_page_shows_the_websub_subscription_and_its_delivery_health_as_text(
    browser, dashboard, recorder
):
    from syndicator.store.subscriber import UpstreamSubscription, count_push, save_subscription

    _config, runtime, _client, base = dashboard
    hit = recorder.url("/hit")
    now = datetime.now(UTC)
    hostile_hub = f"https://hub.example/{hostile_title(hit)}"  # upstream data: shown as text
    sub = UpstreamSubscription(
        source_id="news",
        hub=hostile_hub,
        topic="https://news.example/feed",
        callback_path="secret-path-not-shown",
        secret="secret-not-shown",
        lease_seconds=864000,
        state="active",
        requested_at=now,
        verified_at=now,
        expires_at=now + timedelta(days=10),
    )
    await save_subscription(runtime.redis, runtime.keys, sub)
    for counter, line in [("pushes", "ingested: 2 new"), ("pushes_bad_signature", "dropped: bad signature")]:
        await count_push(runtime.redis, runtime.keys, "news", counter, now=now, line=line)
    async with new_page(browser) as page:
        await log_in(page, base)
        await row(page, "news").locator("a.source-id").click()
        health = page.locator("dl.health")
        await expect(health).to_contain_text(f"active at {hostile_hub}", timeout=WAIT_MS)
        await expect(health).to_contain_text("1 ingested, 0 unsigned and 1 wrongly signed (dropped)")
        await expect(health).to_contain_text("dropped: bad signature")
        await expect(health).not_to_contain_text("secret-not-shown")
        await expect(health).not_to_contain_text("secret-path-not-shown")
        await expect(page.locator("#view img")).to_have_count(0)
        assert await page.evaluate("window.__pwned") is None
    assert recorder.seen("/hit") == []


async def test_the_dashboard_over_a_cluster_store_shows_polls_runs_articles_and_pauses(
    browser, tmp_path, upstream, recorder, redis_url, cluster: RedisCluster, cluster_store, prefix, token_env
):
    """The store on a three-master Redis Cluster (issue 16), the queue on the test's Redis:
    the table's states and errors, a re-ingest run by a real worker, the source page's
    polls, run and articles, and a pause written to the cluster."""
    config = sample_config(tmp_path, upstream, redis_url, prefix, recorder.url("/hit"))
    urls = RedisUrls(queue=redis_url, store=cluster.url)
    async with admin_serving(config, urls) as (runtime, client), new_page(browser) as page:
        await prepare(runtime, recorder.url("/hit"))
        base = str(client.server.make_url("/"))
        await log_in(page, base)
        await expect(row(page, "broken").locator(".state")).to_have_text("failing", timeout=WAIT_MS)
        last_error = row(page, "broken").locator(".last-error")
        await expect(last_error).to_have_text("HTTP 500 Internal Server Error")
        await expect(row(page, "quiet").locator(".state")).to_have_text("paused")
        await expect(row(page, "python-blog").locator(".state")).to_have_text("ok")

        await row(page, "news").locator("button.reingest").click()
        result = row(page, "news").locator(".result")
        await expect(result).to_contain_text("queued", timeout=WAIT_MS)
        await run_burst_worker(config, urls)
        await expect(result).to_contain_text("done: not modified (304)", timeout=WAIT_MS)

        await row(page, "python-blog").locator("button.pause").click()
        await expect(row(page, "python-blog").locator(".state")).to_have_text("paused", timeout=WAIT_MS)
        assert await cluster_store.hexists(runtime.keys.halted, "python-blog")

        await row(page, "news").locator("a.source-id").click()
        await expect(page.locator("#fetches tbody tr")).to_have_count(2, timeout=WAIT_MS)
        await expect(page.locator("#runs tbody tr")).to_have_count(1)
        await expect(page.locator("#articles tbody tr")).to_have_count(2)
