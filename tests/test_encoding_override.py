"""`encoding = "…"` on a source: its documents are read in that charset, whatever they declare.

The seed article and the GBK sample feed are served with declarations that lie; the
override reads them right, through the whole pipeline (fetch, the parse pool, store).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from syndicator.config.errors import ConfigError
from syndicator.config.schema import build_source
from syndicator.extract.decode import decode_page, reencode_configured
from syndicator.ingest import ingest_source
from syndicator.operate.health import source_health
from syndicator.operate.preview import preview_source
from syndicator.parse.limits import parse_bounded
from syndicator.runtime import Runtime
from syndicator.store.codec import article_from_json
from tests.builders import write_config
from tests.conftest import REPO
from tests.test_pages_e2e import ARTICLE_PATH, EXPECTED, SITE

GBK_PAGE = (SITE / "article-8812.gbk.html").read_bytes()
GBK_FEED = (REPO / "config" / "samples" / "gushi.gbk.rss.xml").read_bytes()
FEED_TITLE = "暖心故事集 - 情感故事"


def declared(body: bytes, charset: str) -> bytes:
    """The same GBK bytes, with their own declaration (meta tag or XML prolog) lying too."""
    return body.replace(b"charset=gbk", f"charset={charset}".encode()).replace(
        b'encoding="gbk"', f'encoding="{charset}"'.encode()
    )


def test_declared_utf8_but_gbk_bytes() -> None:
    body = declared(GBK_PAGE, "utf-8")
    guessed = decode_page(body, "text/html; charset=utf-8")
    assert guessed.warning is not None and guessed.warning.startswith("invalid UTF-8 at byte")
    told = decode_page(body, "text/html; charset=utf-8", "gbk")
    assert (told.encoding, told.warning) == ("gb18030", None)  # GBK is read as its superset
    assert EXPECTED["title"] in told.text


def test_a_lie_no_detection_can_catch_is_read_right_only_with_the_override() -> None:
    """KOI8-R maps every byte to some character, so GBK bytes declared KOI8-R decode
    without an error, as nonsense: only the source's `encoding` can say otherwise."""
    body = declared(GBK_PAGE, "koi8-r")
    assert EXPECTED["title"] not in decode_page(body, "text/html; charset=koi8-r").text
    assert EXPECTED["title"] in decode_page(body, "text/html; charset=koi8-r", "gbk").text


def test_any_configured_encoding_is_taken_at_its_word() -> None:
    text = "<p>Grüße, 世界</p>"
    for label, codec in [("utf-16", "utf-16"), ("Big5", "big5hkscs"), ("latin1", "cp1252")]:
        body = text.encode(codec, "replace")
        told = decode_page(body, "text/html; charset=utf-8", label)
        assert told.encoding == codec
        assert told.text == body.decode(codec)


def test_bytes_invalid_in_the_configured_encoding_are_replaced_with_a_warning() -> None:
    told = decode_page(b"ok " + b"\xff\xfe\xfd", None, "utf-8")
    assert told.warning == "bytes invalid in the configured encoding utf-8: 3 replaced"


def test_a_feed_is_reencoded_as_utf8_with_its_declarations_saying_so() -> None:
    body = declared(GBK_FEED, "koi8-r")
    utf8, content_type, warning = reencode_configured(body, "application/rss+xml; charset=koi8-r", "gbk")
    assert utf8.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    assert content_type == "application/rss+xml; charset=utf-8" and warning is None
    headers = {"content-type": "application/rss+xml; charset=koi8-r"}
    limits = {"max_entries": 50, "max_field_bytes": 65536}
    wrong = parse_bounded(body, headers, "http://a.example/feed", **limits)
    right = parse_bounded(body, headers, "http://a.example/feed", **limits, encoding="gbk")
    assert wrong.title != FEED_TITLE
    assert right.title == FEED_TITLE and right.warnings == ()
    assert right.entries[0].title == "外婆的那罐咸菜"


def config(tmp_path, upstream, redis_url, prefix, *, kind: str, path: str, encoding: str | None):
    source: dict[str, object] = {
        "id": "lying",
        "url": upstream.url(path),
        "kind": kind,
        "categories": ["qinggan"],
        "timezone": "Asia/Shanghai",
        "allow_private_network": True,
        "crawl_delay": "10ms",
    }
    if encoding:
        source["encoding"] = encoding
    return write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[{"slug": "qinggan", "title": "情感", "language": "zh"}],
        sources=[source],
    )


async def stored_titles(runtime: Runtime) -> list[str]:
    ids = await runtime.redis.zrange(runtime.keys.category_index("qinggan"), 0, -1)
    return [
        article_from_json(await runtime.redis.get(runtime.keys.article(i.decode())))[0].title for i in ids
    ]


async def test_a_page_source_with_encoding_stores_the_article_right(
    tmp_path, upstream, redis, redis_url, prefix
):
    upstream.put(ARTICLE_PATH, declared(GBK_PAGE, "koi8-r"), "text/html; charset=koi8-r")
    runtime = Runtime.open(
        config(tmp_path, upstream, redis_url, prefix, kind="page", path=ARTICLE_PATH, encoding="gbk"),
        redis_url,
    )
    try:
        report = await ingest_source(runtime, "lying")
        health = await source_health(runtime, "lying")
        titles = await stored_titles(runtime)
    finally:
        await runtime.close()
    assert report.status == "updated", report.line()
    assert titles == [EXPECTED["title"]]
    assert health.warnings == ()


@pytest.mark.parametrize("encoding", [None, "gbk"])
async def test_a_feed_source_with_encoding_stores_its_items_right(
    tmp_path, upstream, redis, redis_url, prefix, encoding
):
    upstream.put("/feed.xml", declared(GBK_FEED, "koi8-r"), "application/rss+xml; charset=koi8-r")
    runtime = Runtime.open(
        config(tmp_path, upstream, redis_url, prefix, kind="feed", path="/feed.xml", encoding=encoding),
        redis_url,
    )
    try:
        report = await ingest_source(runtime, "lying")
        titles = await stored_titles(runtime)
        preview = await preview_source(runtime, runtime.config.sources["lying"])
    finally:
        await runtime.close()
    assert report.status == "updated", report.line()
    right = "外婆的那罐咸菜" in titles
    assert right == (encoding == "gbk"), titles  # without the override: nonsense, stored as such
    assert ("外婆的那罐咸菜" in [a.title for a in preview.articles]) == right


def test_an_unknown_encoding_is_a_config_error() -> None:
    table = {"id": "s", "url": "https://a.example/", "encoding": "klingon-8"}
    with pytest.raises(ConfigError) as error:
        build_source(table, Path("/etc/syndicator.toml"), {})
    assert str(error.value) == (
        "/etc/syndicator.toml: source.encoding: unknown encoding 'klingon-8' "
        "(use a label such as 'gbk', 'big5', 'shift_jis')"
    )
