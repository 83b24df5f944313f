"""Per-article render work kept from one render to the next (`EntryCache`).

A publish renders a category's newest items again each time one of them changes, so most
of each render repeats the one before: the same stored article, rendered the same way.
An `EntryCache` keeps what a renderer made of one article (a filled feedgen `FeedEntry`,
or a JSON Feed item's text) so the next render of that article reuses it; feedgen still
writes every document, from the same entries it would build again, so the bytes are the
ones a render without the cache gives (tests/test_render_reuse.py compares them). A kept
feedgen entry (`KeptEntry`) also keeps the element feedgen made of it the first time and
hands feedgen a copy of it after that: building the item's elements in Python was most
of what rendering a kept entry still cost.

What an entry is made of: the `Article` (the key compares every field, so an edit, a new
tag or a copy joining is a new key) and the document's `entry_context`, the only parts of
a `FeedDocument` that the per-article code reads. A renderer that starts reading another
part of the document for an entry must add it to `entry_context`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from copy import deepcopy
from typing import Generic, TypeVar

from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator
from lxml import etree

from syndicator.models import Article
from syndicator.render.document import FeedDocument

T = TypeVar("T")

# Articles whose entries are kept, per format: twenty categories' default pages of 50,
# or one page of 1,000 items. Kept entries cost memory: about 25 KB an article for the
# three formats together (the feedgen entry, feedgen's element of it, the JSON text;
# measured on bench/ingest.py's articles), so at most about 26 MB.
ENTRIES_KEPT = 1024
# Distinct document contexts remembered (base URL, source titles, category labels): a
# process renders with one configuration at a time; a reload or another base URL starts
# a new one, and past this many the cache starts over.
CONTEXTS_KEPT = 8


def entry_context(doc: FeedDocument) -> Hashable:
    """What of `doc`, besides the article, an entry's rendering reads: the base URL (the
    categories' scheme), the source titles (publisher, also-reported-by) and the
    category labels (categories, and which tags they already show)."""
    return (doc.site_url, tuple(doc.source_titles.items()), tuple(doc.category_labels.items()))


class EntryCache(Generic[T]):
    """The newest `size` rendered entries of one format, least recently used dropped first.

    Thread-safe (a lock around each look-up): a cached value is only read by renderers,
    never changed, so two renders may share it."""

    def __init__(self, size: int = ENTRIES_KEPT) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._contexts: dict[Hashable, int] = {}
        self._entries: OrderedDict[tuple[int, Article], T] = OrderedDict()
        self._next_context = 0

    def context(self, doc: FeedDocument) -> int:
        """A number for `doc`'s `entry_context`, to pass to `get` and `put` for its articles
        (the context is hashed once per render, not once per article)."""
        key = entry_context(doc)
        with self._lock:
            number = self._contexts.get(key)
            if number is None:
                if len(self._contexts) >= CONTEXTS_KEPT:
                    self._contexts.clear()
                    self._entries.clear()
                number = self._contexts[key] = self._next_context
                self._next_context += 1
            return number

    def get(self, context: int, article: Article) -> T | None:
        """What `put` kept for this article in this context, else None. An article that
        cannot be hashed (a list where the store gives tuples) is never kept."""
        key = (context, article)
        with self._lock:
            try:
                value = self._entries.get(key)
            except TypeError:
                return None
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, context: int, article: Article, value: T) -> None:
        key = (context, article)
        with self._lock:
            try:
                self._entries[key] = value
            except TypeError:
                return
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class KeptEntry(FeedEntry):
    """A feedgen entry whose element, once feedgen has made it, is copied rather than
    built again: for entries that are filled once and then only rendered (an
    `EntryCache`'s). lxml's copy is the same tree, so the document is the same bytes."""

    def __init__(self) -> None:
        super().__init__()
        self._kept_rss: dict[bool, etree._Element] = {}
        self._kept_atom: dict[bool, etree._Element] = {}

    def rss_entry(self, extensions: bool = True) -> etree._Element:
        kept = self._kept_rss.get(extensions)
        if kept is None:
            kept = self._kept_rss[extensions] = super().rss_entry(extensions)
        return deepcopy(kept)

    def atom_entry(self, extensions: bool = True) -> etree._Element:
        kept = self._kept_atom.get(extensions)
        if kept is None:
            kept = self._kept_atom[extensions] = super().atom_entry(extensions)
        return deepcopy(kept)


def add_entries(
    fg: FeedGenerator,
    doc: FeedDocument,
    fill: Callable[[FeedEntry, FeedDocument, Article], None],
    cache: EntryCache[FeedEntry] | None,
) -> None:
    """Append an entry per article of `doc` to `fg`, in order: the one `cache` kept for the
    article, else a new one that `fill` fills (and `cache` then keeps). `fill` gets the
    entry after it was added, so it carries the feed's entry extensions."""
    context = cache.context(doc) if cache is not None else 0
    for article in doc.articles:
        kept = cache.get(context, article) if cache is not None else None
        if kept is not None:
            fg.add_entry(kept, order="append")
        elif cache is None:
            fill(fg.add_entry(order="append"), doc, article)
        else:
            entry = fg.add_entry(KeptEntry(), order="append")
            fill(entry, doc, article)
            cache.put(context, article, entry)
