"""Render stage, JSON Feed 1.1: valid against the schema with a real URI checker, every field,
feed_url and next_url for paging.

Shared articles and readers are in tests/render_helpers.py; what every format must do is in
tests/test_render.py.
"""

from __future__ import annotations

import json
from datetime import datetime

from syndicator.render import render_json
from tests.render_helpers import (
    ARCHIVE,
    ARTICLES,
    EXPECTED_CONTENT,
    EXPECTED_IDS,
    EXPECTED_PUBLISHED,
    EXPECTED_TERMS,
    EXPECTED_TITLES,
    EXPECTED_UPDATED,
    PAGE,
    _archive_doc,
    _doc,
    _no_forbidden_characters,
    _validator,
)


def test_format_checker_really_checks_uris() -> None:
    validator = _validator()
    feed = json.loads(render_json(_doc()))
    assert validator.is_valid(feed)
    assert not validator.is_valid({**feed, "feed_url": "not a uri at all"})
    broken = json.loads(render_json(_doc()))
    broken["items"][0]["url"] = "http://exa mple.com/<>"
    assert not validator.is_valid(broken)


def test_json_feed_validates_and_carries_every_field() -> None:
    body = render_json(_doc())
    _no_forbidden_characters(body)
    feed = json.loads(body.decode("utf-8"))
    errors = [e.message for e in _validator().iter_errors(feed)]
    assert errors == []
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["feed_url"] == "http://localhost:8080/feeds/qinggan/gushi.json"
    assert feed["home_page_url"] == PAGE
    assert feed["language"] == "zh-CN"
    assert "authors" not in feed  # nobody to credit at feed level: items carry their own
    items = feed["items"]
    ids = [i["id"] for i in items]
    assert ids == EXPECTED_IDS and len(set(ids)) == len(ids)
    assert [i["title"] for i in items] == EXPECTED_TITLES
    assert [i["url"] for i in items] == [a.url for a in ARTICLES]
    assert [i["content_html"] for i in items] == EXPECTED_CONTENT
    assert [i.get("tags") for i in items] == EXPECTED_TERMS
    assert [i.get("authors") for i in items] == [[{"name": "张三"}], None, [{"name": "أحمد"}]]
    assert [datetime.fromisoformat(i["date_published"]) for i in items] == EXPECTED_PUBLISHED
    assert [datetime.fromisoformat(i["date_modified"]) for i in items] == EXPECTED_UPDATED
    assert all(i["date_published"].endswith("Z") for i in items)
    assert items[0]["summary"] == "第一段 ]]> 文字 & 更多"
    assert "summary" not in items[2]  # empty values are left out, not null
    assert items[0]["image"] == "https://img.example.cn/1.jpg"
    assert items[0]["attachments"] == [
        {"url": "https://img.example.cn/1.jpg", "mime_type": "image/jpeg"},
        {"url": "https://img.example.cn/2.png", "mime_type": "image/png", "size_in_bytes": 2048},
        {
            "url": "https://cdn.example.cn/talk.mp3",
            "mime_type": "audio/mpeg",
            "size_in_bytes": 123456,
        },
        {"url": "https://img.example.cn/3.webp", "mime_type": "image/webp"},
    ]
    assert items[2]["attachments"] == [
        {
            "url": "https://files.example.org/blob",
            "mime_type": "application/octet-stream",
            "size_in_bytes": 10,
        }
    ]
    assert "image" not in items[2]
    # Non-ASCII is written as UTF-8, not \u escapes.
    assert "情感故事".encode() in body


def test_json_feed_url_and_next_url() -> None:
    feed = json.loads(render_json(_archive_doc("json")))
    assert list(_validator().iter_errors(feed)) == []
    assert feed["feed_url"] == f"{ARCHIVE}2.json"
    assert feed["next_url"] == f"{ARCHIVE}1.json"
    assert "next_url" not in json.loads(render_json(_doc()))
