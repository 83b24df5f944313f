"""A site with an English and a Chinese category tree, for the category pages.

Shared by tests/test_category_pages.py and tests/category_screenshot.py (docs/category-*.png).
English: `tech` ⊃ `tech/python` (formerly `python`: an alias), fed by an RSS feed. Chinese
(`zh-CN`): `xinwen` ⊃ `xinwen/guonei`, fed by the bundled Chinese article page, a copy of it
on a portal (so the article shows "also reported by") and a different story.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from syndicator.models import Config
from tests.builders import Item, rss, write_config
from tests.test_cluster import put_pages
from tests.upstream import Upstream

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

PYTHON_ITEMS = [
    Item(
        guid="py-314",
        title="Python 3.14.1 is out: free-threaded builds reach beta quality",
        link="https://python.example/blog/3-14-1",
        published=NOW - timedelta(hours=2),
        body="<p>The first maintenance release of Python 3.14 fixes 180 bugs and makes the "
        "free-threaded build a supported option on every tier-1 platform.</p>",
        author="Release team",
    ),
    Item(
        guid="py-asyncio",
        title="Structured concurrency in asyncio: TaskGroup patterns that scale",
        link="https://python.example/blog/taskgroups",
        published=NOW - timedelta(hours=20),
        body="<p>How to cancel, time out and supervise hundreds of tasks with asyncio.TaskGroup, "
        "and the three mistakes that leak tasks in production services.</p>",
    ),
    Item(
        guid="py-packaging",
        title="Packaging in 2026: lock files land in pip",
        link="https://python.example/blog/lockfiles",
        published=NOW - timedelta(days=2),
        body="<p>PEP 751 lock files can now be installed and exported by pip; what changes for "
        "applications, and why libraries should keep loose ranges.</p>",
    ),
]

SOURCE_TITLES = {"zhbf": "重庆日报网", "portal": "东方门户网", "other": "新华观察"}


def site_config(tmp_path: Path, upstream: Upstream, redis_url: str, prefix: str, public_url: str) -> Config:
    upstream.put("/python.rss", rss(PYTHON_ITEMS, title="Python Insider"), "application/rss+xml")
    put_pages(upstream)
    pages = [("zhbf", "/zhbf.html", "xinwen/guonei"), ("portal", "/portal.html", "xinwen")]
    pages.append(("other", "/other.html", "xinwen/guonei"))
    return write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        public_url=public_url,
        categories=[
            {
                "slug": "tech",
                "title": "Technology",
                "description": "Software engineering and the tools we build with.",
            },
            {
                "slug": "tech/python",
                "title": "Python",
                "description": "Python releases, concurrency and packaging.",
                "aliases": ["python"],
            },
            {"slug": "xinwen", "title": "新闻", "description": "各地新闻", "language": "zh-CN"},
            {"slug": "xinwen/guonei", "title": "国内新闻", "description": "国内要闻", "language": "zh-CN"},
        ],
        sources=[
            {
                "id": "python-insider",
                "title": "Python Insider",
                "url": upstream.url("/python.rss"),
                "categories": ["tech/python"],
                "allow_private_network": True,
            },
            *(
                {
                    "id": sid,
                    "title": SOURCE_TITLES[sid],
                    "url": upstream.url(path),
                    "kind": "page",
                    "categories": [slug],
                    "timezone": "Asia/Shanghai",
                    "allow_private_network": True,
                }
                for sid, path, slug in pages
            ),
        ],
    )


SOURCES = ("python-insider", "zhbf", "portal", "other")  # in this order: the copy joins zhbf's
