"""The canonical URL of an article page: one spelling per article, so re-finds dedupe.

`<link rel=canonical>` first (publishers set it precisely to name the one true URL), then
og:url, then the URL we fetched. Relative values resolve against <base href> or the page
URL; anything that is not http(s) is ignored, and so is a canonical naming the home page
for an article (a template bug that would merge every article into one). Tracking parameters go in every case.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from lxml.html import HtmlElement

from syndicator.normalise import NormaliseError, canonical_url


def _declared(tree: HtmlElement) -> list[str]:
    links = [
        link.get("href", "")
        for link in tree.iter("link")
        if "canonical" in (link.get("rel") or "").lower().split()
    ]
    metas = [
        meta.get("content", "")
        for meta in tree.iter("meta")
        if (meta.get("property") or meta.get("name") or "").strip().lower() == "og:url"
    ]
    return [value.strip() for value in (*links, *metas) if value and value.strip()]


def canonical_page_url(tree: HtmlElement, url: str) -> str:
    """The page's canonical http(s) URL without tracking parameters.

    Falls back to `url` itself (canonicalised when it is http(s), else unchanged — e.g. a
    local file being checked with `syndicator extract FILE`).
    """
    base_el = tree.find(".//base[@href]")
    base = url
    if base_el is not None:
        try:
            base = canonical_url(base_el.get("href", ""), url)
        except NormaliseError:
            base = url
    page_path = urlsplit(url).path
    for candidate in _declared(tree):
        try:
            found = canonical_url(candidate, base)
        except NormaliseError:
            continue
        if urlsplit(found).path == "/" and page_path not in ("", "/"):
            continue  # templates that point every page at the home page would merge all articles
        return found
    try:
        return canonical_url(url)
    except NormaliseError:
        return url
