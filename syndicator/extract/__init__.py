"""Article web pages → ExtractedArticle: body, images, title, breadcrumb, byline, date.

`extract_article` is the one entry point: it decodes, parses once, and hands the same tree
to each concern's module (one module per concern, pure functions over an lxml tree).
Problems the page survives (a guessed charset, no title, no date) are reported in
`warnings`; a page that has no article at all raises ExtractError with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

import lxml.html

from syndicator.errors import SyndicatorError
from syndicator.models import ExtractedArticle, SiteRules
from syndicator.normalise import NormaliseError, absolute_url, sanitise_html, summarise

from .body import NO_RULES, BodyError, body_html, extract_body
from .breadcrumb import breadcrumb_path
from .byline import byline
from .canonical import canonical_page_url
from .dates import find_page_date
from .decode import decode_page
from .document import parse_html
from .jsonld import json_ld_objects
from .language import detect_language
from .title import page_title

__all__ = ["ExtractError", "extract_article"]

# A comment may not run past its own "-->" and the run of comments is never re-split: with
# `(?:<!--.*?-->\s*)*` a page opening with 17 comments cost two seconds of backtracking
# (each way of grouping the comments was tried), 25 comments minutes.
_NOT_HTML = re.compile(
    r"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--(?:[^-]|-(?!->))*-->\s*)*+<(?:rss|feed|rdf:RDF|urlset|sitemapindex)\b",
    re.I,
)
_TITLE_FALLBACK_CHARS = 60


class ExtractError(SyndicatorError):
    """The page holds no article: not HTML, or no body text found. The message says which."""


def _text_of(page: bytes | str, content_type: str | None, warnings: list[str], encoding: str | None) -> str:
    if isinstance(page, str):
        return page
    if not encoding and b"\x00" in page[:1024] and not page.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ExtractError("not an HTML page: the content is binary")
    decoded = decode_page(page, content_type, encoding)
    if decoded.warning:
        warnings.append(decoded.warning)
    return decoded.text


def _base_url(tree: lxml.html.HtmlElement, url: str) -> str:
    """The page's <base href> (resolved against its URL) when it has one, else the URL."""
    for base in tree.iter("base"):
        href = (base.get("href") or "").strip()
        if href:
            try:
                return absolute_url(href, url)
            except NormaliseError:
                break
    return url


def _site_name(tree: lxml.html.HtmlElement) -> str | None:
    for el in tree.xpath("//meta[@property='og:site_name' or @name='og:site_name']"):
        if (el.get("content") or "").strip():
            return el.get("content").strip()
    return None


def extract_article(
    page: bytes | str,
    url: str,
    *,
    content_type: str | None = None,
    timezone: str = "UTC",
    rules: SiteRules = NO_RULES,
    now: datetime | None = None,
    encoding: str | None = None,
    zone_by_language: Mapping[str, str] | None = None,
) -> ExtractedArticle:
    """Everything a reader needs from one article page at `url` (its address, for links).

    `encoding` is the source's configured override of the page's charset (`Source.encoding`).
    `zone_by_language` replaces `timezone` for pages in one of its languages (dates a Chinese
    page writes without an offset are China time): the language is known once the body is
    read, before the date is looked for, so one pass serves, never a second extraction."""
    warnings: list[str] = []
    if content_type and not re.search(r"html|xml|text/plain", content_type, re.I):
        raise ExtractError(f"not an HTML page: content type {content_type!r}")
    text = _text_of(page, content_type, warnings, encoding)
    if _NOT_HTML.match(text[:4096]):
        raise ExtractError("not an HTML page: it is a feed or a sitemap (use a feed or sitemap source)")
    if "<" not in text:
        raise ExtractError("not an HTML page: no markup at all")

    tree = parse_html(text)
    base = _base_url(tree, url)
    objects = json_ld_objects(tree)
    try:
        title = page_title(tree, rules=rules, json_ld=objects, site_name=_site_name(tree), url=base)
        body = extract_body(tree, base, rules=rules, title=title)
    except (BodyError, ValueError) as exc:
        raise ExtractError(str(exc)) from exc
    if rules.body and body.method != "rule":
        warnings.append(f"body rule {rules.body!r} matched nothing; used the default extraction")

    paragraphs = body.paragraphs
    plain = "\n\n".join(paragraphs)
    if not title:
        title = summarise(paragraphs[0], _TITLE_FALLBACK_CHARS) if paragraphs else ""
        warnings.append("no title found on the page; the first paragraph stands in")

    language = detect_language(tree, plain)
    if zone_by_language and language in zone_by_language:
        timezone = zone_by_language[language]
    canonical = canonical_page_url(tree, url)
    moment = now or datetime.now(UTC)
    finding = find_page_date(tree, canonical, timezone=timezone, rules=rules, now=moment)
    if finding is None and canonical != url:
        finding = find_page_date(tree, url, timezone=timezone, rules=rules, now=moment)
    if finding is None:
        warnings.append("no trustworthy publication date on the page")
    source, author = byline(tree)

    return ExtractedArticle(
        url=canonical,
        title=title,
        category_path=breadcrumb_path(tree, rules=rules),
        source=source,
        author=author,
        published=finding.when if finding else None,
        published_precision=finding.precision if finding else None,
        language=language,
        paragraphs=paragraphs,
        images=body.images,
        content_html=sanitise_html(body_html(body.blocks), base),
        text=plain,
        summary=summarise(plain),
        date_source=finding.source if finding else None,
        warnings=tuple(warnings),
        published_offset=finding.offset if finding else None,
    )
