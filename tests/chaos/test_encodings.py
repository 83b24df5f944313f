"""Pages and feeds whose bytes mix encodings are read legibly, and say so (issue 9, 8e).

The seed article in UTF-8 with one paragraph pasted in as GBK, served as `text/html`
without a charset: every paragraph is read legibly, and the source's stored state says
`mixed encodings: …` so an operator sees why. A UTF-8 feed with GBK titles likewise.
"""

from __future__ import annotations

import json

import pytest

from syndicator.ingest import ingest_source
from syndicator.parse.feed import parse_xml_feed
from syndicator.runtime import Runtime
from syndicator.store.sources import load_state
from tests.chaos.attacks import GBK_TITLE, bad_utf8_feed, gbk_inside_utf8_feed
from tests.harness import fetch_all_feeds
from tests.test_pages_e2e import ARTICLE_PATH, EXPECTED, SITE, zhbf_config


async def test_gbk_inside_a_utf8_page_is_legible_and_reported_on_the_source(
    tmp_path, upstream, redis, redis_url, prefix
) -> None:
    paragraph = EXPECTED["paragraphs"][1]
    page = (SITE / "article-8812.utf8.html").read_bytes()
    assert paragraph.encode() in page
    upstream.put(ARTICLE_PATH, page.replace(paragraph.encode(), paragraph.encode("gbk")), "text/html")
    config = zhbf_config(tmp_path, upstream, redis_url, prefix, kind="page", path=ARTICLE_PATH)
    runtime = Runtime.open(config, redis_url)
    try:
        report = await ingest_source(runtime, "zhbf")
        state = await load_state(runtime.redis, runtime.keys, "zhbf")
    finally:
        await runtime.close()
    assert report.counts == {"new": 1}, report
    mixed = [w for w in state.warnings if w.startswith("mixed encodings: ")]
    assert len(mixed) == 1 and "invalid UTF-8 sequences (looks like GBK inside UTF-8)" in mixed[0], state
    feeds = await fetch_all_feeds(config, redis_url, ("qinggan/gushi",))
    (item,) = json.loads(feeds[("qinggan/gushi", "json")][2])["items"]
    assert paragraph in item["content_html"] and EXPECTED["paragraphs"][0] in item["content_html"]


@pytest.mark.parametrize("content_type", ["application/rss+xml", "application/rss+xml; charset=utf-8"])
def test_a_utf8_feed_with_gbk_titles_is_repaired_and_says_so(content_type: str) -> None:
    body = gbk_inside_utf8_feed()
    feed = parse_xml_feed(body, {"Content-Type": content_type}, "https://mix.example/feed", max_entries=50)
    titles = [entry.title for entry in feed.entries]
    assert titles[3] == f"陆海新通道 {GBK_TITLE}" and titles[0] == "陆海新通道 mix title 0"
    (warning,) = [w for w in feed.warnings if w.startswith("mixed encodings: ")]
    assert warning.endswith("invalid UTF-8 sequences (looks like GBK inside UTF-8); read those as GBK")


def test_a_few_bad_bytes_in_a_utf8_feed_keep_its_text_and_name_the_first() -> None:
    body = bad_utf8_feed()
    feed = parse_xml_feed(body, {"Content-Type": "application/rss+xml"}, "https://b.example/", max_entries=50)
    assert feed.entries[0].title == "陆海新通道 bad title 0"  # no mojibake
    bad = body.index(b"\xff")
    assert f"invalid UTF-8 at byte {bad}; decoded as utf-8 (declared), 1 invalid sequence replaced" in (
        feed.warnings
    )
