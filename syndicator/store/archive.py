"""RFC 5005 archived feeds: per-category sequence numbers and fixed, stable archive pages.

Why sequence numbers. An archive document must keep its entries for ever (RFC 5005 §4: the
set of entries at an archive URL should not change). Publication times cannot give that:
a backfilled item with an old date would slot into an old page. So every article gets,
per category, a number the first time that category is published with it in its index
(1, 2, 3 … in the sorted set `{prefix}seq:{slug}`, id → n, with the counter
`{prefix}seqn:{slug}`), and archive page n of a category holds the numbers
[(n-1)·P+1, n·P], P = the category's `items_per_feed`. Page 1 is the OLDEST. A page is an
archive only once it is COMPLETE (the counter reached n·P): after that no number in its
range is ever handed out again, so its membership can only shrink.

Why at publish time, in one Lua script. Numbering runs where every change to an index ends
up anyway (publish), so it needs no hook in the upsert path and heals itself: any index
member without a number — a new item, or one a crashed run stored — gets one at the next
publish. Within one publish new members are numbered oldest first (the index's score is
the publication time; ties by id), so a first ingest of 50 items fills page 1 with the 50
oldest, not the newest. The script is atomic, so two publishers at once cannot give one
article two numbers or two articles one number; a repeat run numbers nothing.

Retention. Ids that left the index (retention evicted them) lose their number in the same
script, so their archive page shrinks; an evicted id that ever returns gets a NEW number
(a newer page), never re-enters its old page. A page whose items are all gone is answered
410 Gone. Changing a category's `items_per_feed` re-cuts every page (new page contents at
the same URLs): choose it before archives matter.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from redis.asyncio import Redis

from syndicator.errors import SyndicatorError
from syndicator.render import feed_url
from syndicator.render.document import EXTENSIONS
from syndicator.store.keys import Keys

# KEYS[1] category index (id → published), KEYS[2] sequence set (id → n), KEYS[3] counter.
# Returns the counter: how many numbers were ever handed out.
_NUMBER_SCRIPT = """
local numbered = redis.call('ZRANGE', KEYS[2], 0, -1)
for _, id in ipairs(numbered) do
  if not redis.call('ZSCORE', KEYS[1], id) then redis.call('ZREM', KEYS[2], id) end
end
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, id in ipairs(members) do
  if not redis.call('ZSCORE', KEYS[2], id) then
    redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), id)
  end
end
return tonumber(redis.call('GET', KEYS[3]) or '0')
"""


class ArchiveError(SyndicatorError):
    """A request for an archive page that does not exist; the message says which do."""


@dataclass(frozen=True)
class ArchiveState:
    """How far a category's numbering has gone, and so which archive pages exist."""

    slug: str
    per_page: int
    assigned: int  # the highest sequence number handed out

    @property
    def complete_pages(self) -> int:
        """Pages 1 … complete_pages are archives (full, so their membership is fixed)."""
        return self.assigned // self.per_page if self.per_page > 0 else 0

    def page_range(self, n: int) -> tuple[int, int]:
        """The sequence numbers page `n` holds, inclusive."""
        return (n - 1) * self.per_page + 1, n * self.per_page

    def describe(self) -> str:
        """Which archive pages exist, for error messages."""
        if self.complete_pages == 0:
            return (
                f"category {self.slug!r} has no archive pages yet"
                f" (a page is archived once {self.per_page} items filled it)"
            )
        if self.complete_pages == 1:
            return f"category {self.slug!r} has archive page 1 only"
        return f"category {self.slug!r} has archive pages 1 to {self.complete_pages}"

    def check_page(self, n: int) -> None:
        """Raise ArchiveError unless page `n` is a complete archive page."""
        if not 1 <= n <= self.complete_pages:
            raise ArchiveError(f"no archive page {n}: {self.describe()}")


async def number_items(redis: Redis, keys: Keys, slug: str, per_page: int) -> ArchiveState:
    """Number every member of `slug`'s index that has no number yet (publish calls this)."""
    script = redis.register_script(_NUMBER_SCRIPT)
    assigned = await script(
        keys=[keys.category_index(slug), keys.sequence(slug), keys.sequence_counter(slug)]
    )
    return ArchiveState(slug, per_page, int(assigned))


async def archive_state(redis: Redis, keys: Keys, slug: str, per_page: int) -> ArchiveState:
    """The numbering as publish last left it (read-only: the web process calls this)."""
    raw = await redis.get(keys.sequence_counter(slug))
    return ArchiveState(slug, per_page, int(raw or 0))


async def page_members(redis: Redis, keys: Keys, state: ArchiveState, n: int) -> list[str]:
    """Ids of archive page `n` still in the category index, in sequence order.

    Publish forgets evicted ids' numbers, but retention runs a moment before publish, so
    index membership is checked here too: an evicted item never shows, even in between.
    """
    state.check_page(n)
    low, high = state.page_range(n)
    ids = [m.decode() for m in await redis.zrangebyscore(keys.sequence(state.slug), low, high)]
    if not ids:
        return []
    scores = await redis.zmscore(keys.category_index(state.slug), ids)
    return [i for i, score in zip(ids, scores, strict=True) if score is not None]


async def sequence_numbers(redis: Redis, keys: Keys, slug: str) -> dict[str, int]:
    """Every numbered id of `slug` → its number (for tests and operators)."""
    return {m.decode(): int(s) for m, s in await redis.zrange(keys.sequence(slug), 0, -1, withscores=True)}


# URLs and link relations. The subscription feed (publish) and the archive pages (web) both
# need them, so they live with the numbering rather than in either caller.


def archive_url(site_url: str, slug: str, n: int, fmt: str) -> str:
    """The public URL of archive page `n`: `{site_url}archive/{slug}/{n}.{ext}`."""
    return f"{site_url}archive/{quote(slug, safe='/')}/{n}.{EXTENSIONS[fmt]}"


def subscription_links(site_url: str, state: ArchiveState, fmt: str) -> dict[str, str]:
    """Links of the subscription feed: the newest archive page, when one exists.

    RSS/Atom: `prev-archive` (RFC 5005 §4); JSON Feed: `next_url` (its "older items" link).
    """
    newest = state.complete_pages
    if newest == 0:
        return {}
    rel = "next" if fmt == "json" else "prev-archive"
    return {rel: archive_url(site_url, state.slug, newest, fmt)}


def archive_links(site_url: str, state: ArchiveState, n: int, fmt: str) -> dict[str, str]:
    """Links of archive page `n`: current, prev-archive (n-1), next-archive (n+1, if archived).

    The newest archive page has no next-archive (RFC 5005: the next newer archive document;
    the subscription feed is reached through `current`), so it gains one when page n+1
    completes: its only change besides item edits and evictions. JSON Feed has only
    `next_url` = the next OLDER page (absent on page 1), so JSON pages never gain a link.
    """
    if fmt == "json":
        return {"next": archive_url(site_url, state.slug, n - 1, fmt)} if n > 1 else {}
    links = {"current": feed_url(site_url, state.slug, fmt)}
    if n > 1:
        links["prev-archive"] = archive_url(site_url, state.slug, n - 1, fmt)
    if n < state.complete_pages:
        links["next-archive"] = archive_url(site_url, state.slug, n + 1, fmt)
    return links
