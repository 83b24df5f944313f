"""GET /opml.xml: every category as one OPML 2.0 subscription list (syndicator/web/opml.py).

A reader imports the file to subscribe to every category at once, so each outline must
point at the category's RSS feed under the public URL, and child categories must sit
inside their parent's outline (readers show them as folders). Served by the real app.
"""

from __future__ import annotations

from xml.etree import ElementTree

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from syndicator.runtime import Runtime
from syndicator.web.app import create_app
from tests.builders import write_config


async def test_opml_lists_every_category_nested_by_slug(tmp_path, redis, redis_url, prefix):
    config = write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        public_url="https://feeds.example/sub",
        sources=[],
        categories=[
            {"slug": "tech", "title": "Technology", "description": "Computers & code"},
            {"slug": "qinggan/gushi", "title": "故事", "language": "zh-CN"},
            {"slug": "qinggan", "title": "情感", "language": "zh-CN"},
        ],
    )
    runtime = Runtime.open(config, redis_url)
    server = TestServer(create_app(runtime))
    await server.start_server()
    try:
        async with ClientSession() as http, http.get(server.make_url("/opml.xml")) as resp:
            status, content_type, body = resp.status, resp.headers["Content-Type"], await resp.read()
    finally:
        await server.close()
        await runtime.close()

    assert status == 200
    assert content_type == "text/x-opml; charset=utf-8"
    root = ElementTree.fromstring(body)
    assert (root.tag, root.get("version")) == ("opml", "2.0")
    assert root.findtext("head/title") == "Syndicator feeds"

    top = root.find("body")
    assert [o.get("text") for o in top] == ["All articles", "情感", "Technology"]
    everything, qinggan, tech = top
    assert [o.get("text") for o in qinggan] == ["故事"]
    (gushi,) = qinggan

    assert gushi.attrib == {
        "type": "rss",
        "text": "故事",
        "title": "故事",
        "xmlUrl": "https://feeds.example/sub/feeds/qinggan/gushi.rss",
        "htmlUrl": "https://feeds.example/sub/",
        "description": "故事",  # no description: the title stands in
        "language": "zh-CN",
    }
    assert tech.get("description") == "Computers & code"
    assert everything.get("xmlUrl") == "https://feeds.example/sub/feeds/all.rss"
    assert len(list(everything)) == len(list(tech)) == 0
