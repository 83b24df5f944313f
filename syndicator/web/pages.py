"""The small pages: `/` lists every category with its page (category_page.py) and its
feeds, `/healthz` says the process is alive, and `config_status` tells /readyz
(readiness.py) which configuration runs: its file, digest and reload status."""

from __future__ import annotations

import html

from aiohttp import web

from syndicator.config.reload import ConfigReloader
from syndicator.render import feed_url, page_url
from syndicator.runtime import Runtime
from syndicator.web.feeds import RUNTIME

RELOADER = web.AppKey("reloader", ConfigReloader)

FORMAT_LABELS = (
    ("rss", "RSS 2.0", "application/rss+xml"),
    ("atom", "Atom 1.0", "application/atom+xml"),
    ("json", "JSON Feed 1.1", "application/feed+json"),
)


def render_index(runtime: Runtime) -> str:
    site = runtime.site_url
    links: list[str] = []
    rows: list[str] = []
    for slug, category in sorted(runtime.config.categories.items()):
        title = html.escape(category.title)
        feeds = []
        for ext, label, media_type in FORMAT_LABELS:
            url = html.escape(feed_url(site, slug, ext))
            links.append(f'<link rel="alternate" type="{media_type}" title="{title} ({label})" href="{url}">')
            feeds.append(f'<a href="{url}">{label}</a>')
        depth = slug.count("/")
        rows.append(
            f'<li style="margin-left:{depth * 1.5}em">'
            f'<strong><a href="{html.escape(page_url(site, slug))}">{title}</a></strong> '
            f"<code>{html.escape(slug)}</code> — {' · '.join(feeds)}"
            + (f"<br><small>{html.escape(category.description)}</small>" if category.description else "")
            + "</li>"
        )
    opml = html.escape(f"{site}opml.xml")
    opml_all = html.escape(f"{site}opml.xml?all=1")
    links.append(f'<link rel="outline" type="text/x-opml" title="Feeds for readers (OPML)" href="{opml}">')
    head = "\n".join(links)
    body = "\n".join(rows)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Syndicator feeds</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; }}
body {{ line-height: 1.5; }}
ul {{ list-style: none; padding: 0; }} li {{ margin: .4rem 0; }} code {{ color: #555; }}
small {{ color: #666; }}
</style>
{head}
</head><body>
<h1>Syndicator feeds</h1>
<p>Subscribe to every category at once in a feed reader: <a href="{opml}">OPML</a>.
It lists the feed of every category without subcategories and, for a parent with articles
of its own, that parent's <code>?own=1</code> feed, parents as folders, so a reader stores
each article once per category.
<a href="{opml_all}">Every feed (OPML)</a> lists all of them — <code>all</code> and each parent
with its children's articles too — for aggregators and mirrors; a reader importing it stores
an article once per feed that holds it.</p>
<ul>
{body}
</ul>
</body></html>
"""


async def index(request: web.Request) -> web.Response:
    return web.Response(text=render_index(request.app[RUNTIME]), content_type="text/html", charset="utf-8")


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process runs and its event loop answers. It touches nothing else (not
    Redis), so a supervisor never restarts a web process for an outage it cannot fix;
    whether it can serve feeds is /readyz (readiness.py)."""
    return web.json_response({"status": "alive"})


def config_status(runtime: Runtime, reloader: ConfigReloader | None) -> dict[str, object]:
    """Which file runs (path, sha256 digest), when it was last reloaded, what a reload
    refused, and which changed settings wait for a restart."""
    status: dict[str, object] = {"path": runtime.config.path, "digest": runtime.config.digest}
    if reloader is not None:
        status["reloaded_at"] = reloader.reloaded_at.isoformat() if reloader.reloaded_at else None
        status["reload_error"] = reloader.last_error
        status["needs_restart"] = list(reloader.needs_restart)
    return status
