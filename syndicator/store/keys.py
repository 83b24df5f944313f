"""Every Redis key Syndicator owns, in one place, under one configurable prefix.

arq's own keys (`arq:job:…`) are fixed by arq; ours all start with the prefix so that an
operator can see, count or delete exactly what Syndicator wrote.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


@dataclass(frozen=True)
class Keys:
    """Our keys. An article's own keys share the hash tag `{a:ID}` and a category's the tag
    `{c:SLUG}` (store layout 5), so each atomic step over them is one Lua script in one
    Redis Cluster slot (store/atomic.py). `tagged=False` names them as layouts 0-4 did:
    only the migrations up to layout 5 use that (store/schema.py)."""

    prefix: str
    tagged: bool = True

    def _a(self, article_id: str) -> str:
        """An article id inside the article hash tag (layout 5), or bare before it."""
        return f"{{a:{article_id}}}" if self.tagged else article_id

    def _c(self, slug: str) -> str:
        """A category slug inside the category hash tag (layout 5), or bare before it."""
        return f"{{c:{slug}}}" if self.tagged else slug

    def _h(self, subscription_id: str) -> str:
        """A hub subscription id inside its hash tag (layout 5): its record, delivery state,
        log, lock and pending nonce are one slot, so the delivery scripts are one call."""
        return f"{{h:{subscription_id}}}" if self.tagged else subscription_id

    @property
    def schema_version(self) -> str:
        """The layout version of everything under the prefix (an integer; store/schema.py)."""
        return f"{self.prefix}schema_version"

    @property
    def schema_progress(self) -> str:
        """Hash of a running migration's progress (its version, scan cursors, records done)."""
        return f"{self.prefix}schema_progress"

    @property
    def config_reload(self) -> str:
        """Hash announcing the last config reload: `generation` (a counter every process
        polls), and the `digest` of the file, who announced it (`by`) and when (`at`)."""
        return f"{self.prefix}config_reload"

    def match(self, rest: str = "*") -> str:
        """A SCAN MATCH pattern for our keys: the prefix (glob characters escaped) + `rest`."""
        return _GLOB_SPECIAL.sub(r"\\\1", self.prefix) + rest

    def article(self, article_id: str) -> str:
        """A JSON article record."""
        return f"{self.prefix}article:{self._a(article_id)}"

    def url_index(self, canonical_url: str) -> str:
        """Canonical URL → article id, so one article found via two sources is stored once."""
        digest = hashlib.sha256(canonical_url.encode()).hexdigest()[:32]
        return f"{self.prefix}url:{digest}"

    def category_index(self, slug: str) -> str:
        """Sorted set of article ids scored by published time (seconds since the epoch)."""
        return f"{self.prefix}cat:{self._c(slug)}"

    def source_index(self, slug: str, source_id: str) -> str:
        """Sorted set of the ids in `slug`'s index that count against `source_id` (the
        record's first source), scored like the index: retention reads per-source counts
        and a source's oldest items here instead of every record (store layout 2)."""
        return f"{self.prefix}srcidx:{self._c(slug)}:{source_id}"

    def index_sources(self, slug: str) -> str:
        """Set of the source ids that have a `source_index` in `slug` (store layout 2)."""
        return f"{self.prefix}srcidxs:{self._c(slug)}"

    def evicted(self, slug: str) -> str:
        """Sorted set of ids retention removed from `slug`, scored by when last seen upstream."""
        return f"{self.prefix}evicted:{self._c(slug)}"

    def source_state(self, source_id: str) -> str:
        """Hash of a source's fetch state (validators, last success/error, counters)."""
        return f"{self.prefix}source:{source_id}"

    def fetch_log(self, source_id: str) -> str:
        """List of a source's last fetch outcomes (JSON, newest first), capped at 50
        (`record_outcome` writes it; the dashboard's timeline reads it)."""
        return f"{self.prefix}fetches:{source_id}"

    def robots_refusals(self, source_id: str) -> str:
        """List of a source's last robots.txt refusals (`url: reason`, newest first), capped
        at 10 (`record_outcome` writes it; source health reads it)."""
        return f"{self.prefix}robots-refused:{source_id}"

    @property
    def due(self) -> str:
        """Sorted set of source ids scored by when they are next due."""
        return f"{self.prefix}due"

    def upstream_subscription(self, source_id: str) -> str:
        """Hash of our WebSub subscription to `source_id`'s upstream hub: hub, topic,
        callback path, secret, lease, state, and its delivery counters (store/subscriber.py)."""
        return f"{self.prefix}websub:sub:{source_id}"

    @property
    def upstream_callbacks(self) -> str:
        """Hash of callback path (random, per subscription) → source id: which subscription
        a verification or push to `/websub/callback/{path}` belongs to."""
        return f"{self.prefix}websub:callbacks"

    @property
    def upstream_renewals(self) -> str:
        """Sorted set of source ids scored by when their subscription is to be renewed."""
        return f"{self.prefix}websub:renew"

    def upstream_push(self, push_id: str) -> str:
        """The body and headers of one verified push (JSON), waiting for its ingest job (1 h)."""
        return f"{self.prefix}websub:push:{push_id}"

    def feed(self, slug: str, fmt: str) -> str:
        """Hash of a rendered feed: bodies per content coding, ETag, Last-Modified, version."""
        return f"{self.prefix}feed:{self._c(slug)}:{fmt}"

    def feed_version(self, slug: str) -> str:
        """Counter bumped each time any format of `slug` changes."""
        return f"{self.prefix}feedver:{self._c(slug)}"

    def version_times(self, slug: str) -> str:
        """List of when recent versions of `slug` were published (newest first), for the TTL."""
        return f"{self.prefix}feedtimes:{self._c(slug)}"

    def manifests(self, slug: str) -> str:
        """Hash of version → JSON manifest (item ids, dates, digests, ETags) of recent versions
        of `slug`, from which delta responses (RFC 3229 `A-IM: feed`) are computed."""
        return f"{self.prefix}manifests:{self._c(slug)}"

    def published_mark(self, slug: str) -> str:
        """The dirty counter's value the last completed publish of `slug` rendered."""
        return f"{self.prefix}published-mark:{self._c(slug)}"

    def dirty(self, slug: str) -> str:
        """Counter bumped by every store that touches `slug`; publish re-renders while it moves."""
        return f"{self.prefix}dirty:{self._c(slug)}"

    def sequence(self, slug: str) -> str:
        """Sorted set article id → its archive sequence number in `slug` (RFC 5005 pages)."""
        return f"{self.prefix}seq:{self._c(slug)}"

    def sequence_counter(self, slug: str) -> str:
        """The highest archive sequence number handed out in `slug`."""
        return f"{self.prefix}seqn:{self._c(slug)}"

    def host_leases(self, host: str) -> str:
        """Sorted set of live request leases on an upstream host (politeness)."""
        return f"{self.prefix}host:{{p:{host}}}:leases"  # one slot with host_next: one script

    def host_next(self, host: str) -> str:
        """When the next request to an upstream host may start (ms since the epoch)."""
        return f"{self.prefix}host:{{p:{host}}}:next"

    def host_cooldown(self, host: str) -> str:
        """JSON {until, status, source_id} while an upstream host cools down after a 429 or
        503: no fetch of any source on it until `until` (expires then; store/polling.py)."""
        return f"{self.prefix}host:{host}:cooldown"

    def seen_pages(self, source_id: str) -> str:
        """Hash of page URLs a listing or sitemap source has enqueued → their lastmod."""
        return f"{self.prefix}seen:{source_id}"

    def over_limit(self, digest: str) -> str:
        """A document (by the sha256 of its bytes) whose parse went over a limit: not parsed
        again until its bytes change (store/overlimit.py)."""
        return f"{self.prefix}over-limit:{digest}"

    @property
    def pending_publish(self) -> str:
        """Hash of run key → indexes a run stored into and has not yet asked to publish."""
        return f"{self.prefix}pending-publish"

    @property
    def published_channel(self) -> str:
        """Pub/sub channel on which publish announces `slug version`."""
        return f"{self.prefix}published"

    @property
    def halted(self) -> str:
        """Hash of source id → JSON {state, at, reason} for sources not polled: `paused` by
        an operator, or `gone` (the upstream answered 410). Until `resume`; a source a
        reload removes is forgotten here (store/sources.py)."""
        return f"{self.prefix}halted"

    def run(self, run_id: str) -> str:
        """Hash of one ingest run: state, times, tries, summary or reason (7 days; store/runs.py)."""
        return f"{self.prefix}run:{run_id}"

    def source_runs(self, source_id: str) -> str:
        """List of a source's run ids, newest first, capped at 50 (store/runs.py)."""
        return f"{self.prefix}runs:{source_id}"

    @property
    def active_runs(self) -> str:
        """Sorted set of run ids queued or running, scored by when they were queued."""
        return f"{self.prefix}runs-active"

    @property
    def audit(self) -> str:
        """List of the last operators' actions (JSON, newest first), capped at 1,000
        (store/audit.py)."""
        return f"{self.prefix}audit"

    @property
    def hidden_ids(self) -> str:
        """Hash of article id → JSON tombstone {at, url, who} of articles an operator hid:
        no upsert stores that id again (store/takedown.py)."""
        return f"{self.prefix}hidden-ids"

    @property
    def hidden_urls(self) -> str:
        """Hash of canonical URL → the hidden article's id: no upsert, from any source,
        stores an article with that URL again (store/takedown.py)."""
        return f"{self.prefix}hidden-urls"

    def heartbeat(self, worker_id: str) -> str:
        """One worker's heartbeat (JSON), expiring after 3 beat intervals (store/heartbeats.py)."""
        return f"{self.prefix}worker:{worker_id}"

    def job_id(self, kind: str, name: str) -> str:
        """arq job ids carry the prefix so two deployments on one database never collide."""
        return f"{self.prefix}{kind}:{name}"

    def robots(self, origin: str) -> str:
        """Hash of an origin's robots.txt as last fetched (`scheme://host:port`): its rules
        or what the fetch answered, expiring after at most 24 hours (fetch/robots.py)."""
        return f"{self.prefix}robots:{origin}"

    def held(self, source_id: str) -> str:
        """Hash of article id → JSON record of a `full_text` source's new item waiting for
        its full text: in no category index (so in no feed) until released
        (store/held.py)."""
        return f"{self.prefix}held:{source_id}"

    def raw_input(self, article_id: str) -> str:
        """Hash of one article's raw input (store/raw.py): `blob` (zlib-compressed JSON:
        a page's response bytes and headers, or a feed item's parsed entry and feed
        context), `kind` (page, feed), `source`, `blocked` ("1" if a filter blocked it),
        `at` (when kept)."""
        return f"{self.prefix}raw:{self._a(article_id)}"

    def reprocess(self, reprocess_id: str, part: str = "") -> str:
        """One reprocess (operate/reprocess.py), 7 days: the hash itself (its time, its runs,
        how many jobs, who published), and with `part` its `articles` (hash of article id →
        JSON outcome), `touched` (set of categories to publish) and `finished` (set of run ids)."""
        return f"{self.prefix}reprocess:{reprocess_id}" + (f":{part}" if part else "")

    def raw_by_source(self, source_id: str) -> str:
        """Sorted set of the article ids whose raw input a source keeps, scored by when kept."""
        return f"{self.prefix}raw-src:{source_id}"

    @property
    def raw_sizes(self) -> str:
        """Sorted set of `{source id} {article id}` of every kept raw input, scored by when
        kept (the global bound takes the oldest first)."""
        return f"{self.prefix}raw-all"

    @property
    def raw_bytes(self) -> str:
        """Hash of source id → compressed bytes its raw inputs take, and `*` → all of them."""
        return f"{self.prefix}raw-bytes"

    @property
    def held_due(self) -> str:
        """Sorted set of `{source id} {article id}` of held items, scored by when each is
        released without its full text (`full_text_wait` after it was held)."""
        return f"{self.prefix}held-due"

    def full_text_seen(self, source_id: str) -> str:
        """Sorted set of the article ids a `full_text` source's feed listed, scored by when
        last listed: an id in it is not new, so its link is not fetched again."""
        return f"{self.prefix}fulltext-seen:{source_id}"

    def lsh_band(self, band: int, value: str) -> str:
        """Layout 3's set of the ids of representatives whose fingerprint has `value` in LSH
        band `band`; only the migration to layout 4 reads it (store/schema.py)."""
        return f"{self.prefix}lsh:{band}:{value}"

    def lsh_bucket(self, band: int, bucket: str) -> str:
        """Hash of LSH band `band`'s values starting with `bucket` (their first hex digits)
        → the ids of the representatives with that value, space-separated
        (store/clusters.py `band_members`): a new article's candidates are its bands'. The
        bucket is a hash tag, so on a Redis Cluster one script reads or writes a bucket's
        hashes of all bands."""
        return f"{self.prefix}bands:{{b:{bucket}}}:{band}"

    def fingerprint(self, article_id: str) -> str:
        """A representative's fingerprint (JSON: signature, URL, bands), read for candidates."""
        return f"{self.prefix}fp:{self._a(article_id)}"

    @property
    def cluster_of(self) -> str:
        """Hash of a near-duplicate's article id → its representative's id (process/cluster.py)."""
        return f"{self.prefix}cluster-of"

    def hub_subscription(self, subscription_id: str) -> str:
        """Hash of one WebSub subscription to our hub (store/hub.py `HubSubscription`)."""
        return f"{self.prefix}hub:sub:{self._h(subscription_id)}"

    def hub_topic(self, topic: str) -> str:
        """Set of the ids of the subscriptions to one normalised topic URL."""
        return f"{self.prefix}hub:topic:{hub_topic_key(topic)}"

    @property
    def hub_topics(self) -> str:
        """Hash of topic key (`hub_topic_key`) → the topic URL, of every topic with subscribers."""
        return f"{self.prefix}hub:topics"

    def hub_host(self, host: str) -> str:
        """Set of the ids of the subscriptions whose callback is on `host` (the per-host limit)."""
        return f"{self.prefix}hub:host:{host}"

    @property
    def hub_expiry(self) -> str:
        """Sorted set of subscription id → when its lease ends (seconds since the epoch)."""
        return f"{self.prefix}hub:expiry"

    def hub_topic_version(self, topic: str) -> str:
        """Hash of the hub's latest version of one topic: `version`, `fmt`, `media_type`,
        `body` (the topic's document at that version) — what deliveries are cut from
        (store/hub_deliveries.py)."""
        return f"{self.prefix}hub:tver:{hub_topic_key(topic)}"

    def hub_topic_manifests(self, topic: str) -> str:
        """Hash of topic version → JSON manifest (item ids and digests) of its recent versions:
        what a subscriber that acknowledged version N has already seen."""
        return f"{self.prefix}hub:tman:{hub_topic_key(topic)}"

    def hub_delivery(self, subscription_id: str) -> str:
        """Hash of one subscription's delivery state: `acked` (the topic version it
        acknowledged), `failing_since`, `inflight` (JSON of a POST under way)."""
        return f"{self.prefix}hub:dstate:{self._h(subscription_id)}"

    def hub_delivered(self, subscription_id: str) -> str:
        """Hash of topic version → the delivery that carried it (`{from}-{to}`): the
        idempotency record per (subscription, version), trimmed to the newest versions."""
        return f"{self.prefix}hub:dlog:{self._h(subscription_id)}"

    def hub_payload(self, topic: str, after: int, upto: int) -> str:
        """Hash of one delivery's bytes (`body`, `media_type`) for versions (after, upto] of a
        topic, shared by its subscribers that are equally behind, kept 2 days: a delivery
        cut off by a crash is sent again byte for byte."""
        return f"{self.prefix}hub:payload:{hub_topic_key(topic)}:{after}-{upto}"

    def hub_delivery_lock(self, subscription_id: str) -> str:
        """One subscription's delivery lock (a token, expiring): one POST at a time, in order."""
        return f"{self.prefix}hub:dlock:{self._h(subscription_id)}"

    def hub_pending(self, subscription_id: str) -> str:
        """The nonce of the latest (un)subscription request for a (topic, callback) pair
        awaiting verification (hub/intent.py): an older request's verification, finishing
        later, must not undo a newer one (1 day)."""
        return f"{self.prefix}hub:pending:{self._h(subscription_id)}"


def hub_topic_key(topic: str) -> str:
    """The short key of a topic URL in `Keys.hub_topic` and `Keys.hub_topics`."""
    return hashlib.sha1(topic.encode()).hexdigest()[:16]
