"""Secrets in source URLs are hidden wherever a URL is shown (syndicator.redact)."""

from __future__ import annotations

import pytest

from syndicator.redact import redact_text, redact_url
from tests.builders import items, one_feed_config, rss
from tests.harness import fetch_all_feeds, serving


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://blog.example/feed.xml", "https://blog.example/feed.xml"),
        ("https://user:pa55@blog.example/feed", "https://user:***@blog.example/feed"),
        ("https://ghp_abc123@api.example/feed", "https://***@api.example/feed"),
        ("https://x.example/f?token=abc&page=2", "https://x.example/f?token=***&page=2"),
        (
            "https://x.example/f?Key=1&apikey=2&api_key=3&api-key=4",
            "https://x.example/f?Key=***&apikey=***&api_key=***&api-key=***",
        ),
        (
            "https://x.example/f?sig=a&signature=b&secret=c",
            "https://x.example/f?sig=***&signature=***&secret=***",
        ),
        (
            "https://x.example/f?password=p&access_token=t#top",
            "https://x.example/f?password=***&access_token=***#top",
        ),
        ("https://x.example/f?keyword=kept&monkey=kept", "https://x.example/f?keyword=kept&monkey=kept"),
        ("file:///srv/feeds/a.xml", "file:///srv/feeds/a.xml"),
        ("not a url", "not a url"),
    ],
)
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_redact_text_hides_every_url_in_a_line_and_keeps_punctuation():
    line = "source s (https://u:pw@h.example/f?token=t1): HTTP 404; retried https://h.example/g?sig=zz."
    assert redact_text(line) == (
        "source s (https://u:***@h.example/f?token=***): HTTP 404; retried https://h.example/g?sig=***."
    )


async def test_a_secret_in_a_source_url_is_not_published_in_the_feeds(
    tmp_path, upstream, redis, redis_url, prefix
):
    upstream.put("/feed.rss", rss(items("tok", 2)), "application/rss+xml")
    config = one_feed_config(
        tmp_path, upstream, redis_url=redis_url, prefix=prefix, path="/feed.rss?token=hush-hush&page=1"
    )
    async with serving(config, redis_url, ("feed",)):
        pass
    feeds = await fetch_all_feeds(config, redis_url, ("tech",))
    atom = feeds[("tech", "atom")][2].decode()
    assert "/feed.rss?token=***&#x26;page=1</id>" in atom  # <source> names the feed, not the secret
    for (_slug, fmt), (status, _headers, body) in feeds.items():
        assert status == 200 and b"hush-hush" not in body, fmt
