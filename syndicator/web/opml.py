"""GET /opml.xml: every category feed as an OPML 2.0 subscription list.

Feed readers import it to subscribe to all categories at once. Categories nest as they
do in their slugs, so readers that keep folders show `qinggan/gushi` inside `qinggan`;
each category outline is itself a subscription (type="rss", xmlUrl).
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, SubElement, indent, tostring

from aiohttp import web

from syndicator.models import ALL_CATEGORY, Category
from syndicator.render import feed_url
from syndicator.runtime import Runtime
from syndicator.web.feeds import RUNTIME


def _outline(parent: Element, runtime: Runtime, category: Category) -> Element:
    return SubElement(
        parent,
        "outline",
        {
            "type": "rss",
            "text": category.title,
            "title": category.title,
            "xmlUrl": feed_url(runtime.site_url, category.slug, "rss"),
            "htmlUrl": runtime.site_url,
            "description": category.description or category.title,
            "language": category.language,
        },
    )


def render_opml(runtime: Runtime) -> bytes:
    opml = Element("opml", version="2.0")
    head = SubElement(opml, "head")
    SubElement(head, "title").text = "Syndicator feeds"
    SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = SubElement(opml, "body")
    categories = runtime.config.categories
    outlines: dict[str, Element] = {}
    outlines[ALL_CATEGORY] = _outline(body, runtime, categories[ALL_CATEGORY])
    for slug in sorted(s for s in categories if s != ALL_CATEGORY):  # parents sort before children
        parent_slug = slug.rpartition("/")[0]
        parent = outlines.get(parent_slug, body)
        outlines[slug] = _outline(parent, runtime, categories[slug])
    indent(opml)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + tostring(opml, encoding="utf-8") + b"\n"


async def serve_opml(request: web.Request) -> web.Response:
    return web.Response(
        body=render_opml(request.app[RUNTIME]),
        content_type="text/x-opml",
        charset="utf-8",
        headers={"Content-Disposition": 'inline; filename="syndicator.opml"'},
    )
