"""Listing pages → the article links on them, in order, and the next page.

A category page links to many things: the site's menus, the breadcrumb, pagination, a
sidebar of hot articles, tag clouds, and the articles of this category. The crawler wants
only the last, in the order the page lists them, so that a listing source enqueues what the
category holds and not the whole site. The rules are structural, not fitted to a template:

1. Links inside site chrome are never articles: page-level <nav>/<header>/<footer>/<aside>,
   ARIA landmarks for them, and elements whose class or id names a menu, breadcrumb,
   pagination, sidebar or hot/rank list. The search for chrome stops at an <article>
   element, because a card's own <header> holds its title link.
2. A link must stay on the page's site (same registrable domain) and must not be the home
   page, a category index (path ending in "/" without a date, index.html, list_N.html),
   pagination, an asset, or a login/search/tag page.
3. What remains is an article if its URL looks like one (a numeric id, a date in the path,
   an id parameter), or if it belongs to the page's main list: the list container holding
   the most links of one URL shape — how slug-only URLs (/blog/my-post) are recognised.
"""

from __future__ import annotations

import re
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from urllib.parse import parse_qsl, urlsplit

import lxml.html
from lxml import etree
from tld import get_fld

from syndicator.errors import SyndicatorError
from syndicator.normalise import NormaliseError, canonical_url


class DiscoverError(SyndicatorError):
    """A listing page or sitemap that cannot be read; the message names what is wrong.

    Shared by listing.py and sitemap.py (defined here, the first of the two, to avoid a cycle).
    """


@dataclass(frozen=True)
class ListingPage:
    article_urls: tuple[str, ...]  # canonical, in document order, deduplicated
    next_page: str | None  # canonical URL of the following listing page


# ---------------------------------------------------------------- chrome (rule 1)

_CHROME_TAGS = frozenset({"nav", "aside"})
_PAGE_LANDMARK_TAGS = frozenset({"header", "footer"})  # chrome only outside main/section/article
_SECTIONING = frozenset({"main", "section", "article"})
_CHROME_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "menu", "menubar"})
# Whole class/id tokens that name chrome. Whole tokens only: utility classes such as
# Bootstrap's `position-relative` or `nav-item` inside a main list must not match by accident.
_CHROME_WORDS = frozenset(
    {
        "nav", "navbar", "navigation", "topnav", "subnav", "mainnav", "menu", "menus", "submenu",
        "breadcrumb", "breadcrumbs", "crumb", "crumbs", "position", "location", "weizhi", "dangqian",
        "header", "footer", "foot", "copyright", "sidebar", "aside", "side",
        "hot", "hots", "rank", "ranking", "remen", "paihang", "phb", "top10",
        "pagination", "pager", "pages", "paging", "pagelist", "pagebar", "pagenav", "page-numbers",
        "nav-links", "share", "login", "tags", "tagcloud", "tag-cloud", "friendlink", "links",
    }
)  # fmt: skip
# Compound tokens: "site-header", "main-nav", "hot-list", "rank_box", "right-sidebar", …
_CHROME_PREFIX = re.compile(
    r"^(nav|menu|breadcrumb|crumb|sidebar|side|hot|rank|paihang|pagin|pager|paging|footer|"
    r"friendlink|tagcloud)[-_]"
)
_CHROME_SUFFIX = re.compile(
    r"[-_](nav|navbar|menu|navigation|breadcrumbs?|crumbs?|sidebar|side|hot|rank|ranking|"
    r"pagination|pager|pages|paging|footer|links)$"
)


def _tokens(el: etree._Element) -> list[str]:
    return f"{el.get('class') or ''} {el.get('id') or ''}".lower().split()


def _is_chrome_element(el: etree._Element) -> bool:
    if el.tag in _CHROME_TAGS or (el.get("role") or "").lower() in _CHROME_ROLES:
        return True
    return any(
        token in _CHROME_WORDS or _CHROME_PREFIX.match(token) or _CHROME_SUFFIX.search(token)
        for token in _tokens(el)
    )


def _in_chrome(link: etree._Element) -> bool:
    """True when the link sits in site chrome (rule 1); an <article> ancestor ends the search."""
    ancestors = list(link.iterancestors())
    for i, el in enumerate(ancestors):
        if el.tag == "article":
            return False
        if el.tag in _PAGE_LANDMARK_TAGS:
            if not any(a.tag in _SECTIONING for a in ancestors[i + 1 :]):
                return True
            continue
        if _is_chrome_element(el):
            return True
    return False


# ---------------------------------------------------------------- URLs (rules 2 and 3)

_PAGE_EXT = r"(s?html?|php|aspx?|jspx?|do|cgi)"
_HOME_FILE = re.compile(rf"^(index|default|home|main)\.{_PAGE_EXT}$", re.I)
_INDEX_FILE = re.compile(rf"^(index|default|list)([_-]\d+)*\.{_PAGE_EXT}$", re.I)
_ASSET_EXT = frozenset(
    {
        "jpg", "jpeg", "png", "gif", "webp", "svg", "bmp", "ico", "avif", "css", "js", "json", "xml",
        "rss", "atom", "txt", "pdf", "zip", "rar", "7z", "gz", "tar", "mp3", "mp4", "m4a", "avi",
        "mov", "flv", "wmv", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "apk", "exe", "dmg",
        "woff", "woff2", "ttf", "eot",
    }
)  # fmt: skip
_NON_ARTICLE_SEGMENTS = frozenset(
    {
        "login", "logout", "signin", "signup", "register", "reg", "search", "tag", "tags", "author",
        "user", "users", "member", "members", "account", "feed", "rss", "cart", "wp-admin",
        "wp-login.php", "cdn-cgi",
    }
)  # fmt: skip
_UTILITY_PAGES = frozenset({"login", "logout", "register", "search", "signin", "signup"})
_SEARCH_PARAMS = frozenset({"s", "q", "wd", "keyword", "keywords", "kw", "query", "searchword"})
_PAGE_PARAMS = frozenset({"page", "pageno", "page_no", "pagenum", "pn", "pg", "paged", "pageindex"})
_ID_PARAMS = frozenset(
    {"id", "aid", "p", "tid", "nid", "docid", "newsid", "articleid", "article_id", "itemid", "contentid"}
)
_COMPACT_DATE = re.compile(r"^(19|20)\d\d[-_]?(0[1-9]|1[0-2])([-_]?(0[1-9]|[12]\d|3[01]))?$")
_YEAR = re.compile(r"^(19|20)\d\d$")
_MONTH = re.compile(r"^(0?[1-9]|1[0-2])$")


@lru_cache(maxsize=4096)
def _site(host: str) -> str:
    """The registrable domain by the public suffix list; for names it does not know (.example,
    .internal) the last two labels; IP addresses and single-label hosts as they are."""
    fld = get_fld(host, fix_protocol=True, fail_silently=True)
    if isinstance(fld, str):
        return fld
    if ":" in host or re.fullmatch(r"[\d.]+", host):
        return host
    return ".".join(host.split(".")[-2:])


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def _has_dated_path(segments: list[str]) -> bool:
    """A date in the path followed by something: /20231123/8812.html, /2024/03/05/slug/."""
    for i, seg in enumerate(segments):
        if _COMPACT_DATE.match(seg) and not _YEAR.match(seg):
            rest = segments[i + 1 :]
        elif _YEAR.match(seg) and i + 1 < len(segments) and _MONTH.match(segments[i + 1]):
            rest = segments[i + 2 :]
            if rest and re.fullmatch(r"0?[1-9]|[12]\d|3[01]", rest[0]):
                rest = rest[1:]
        else:
            continue
        return bool(rest)
    return False


def _has_numeric_id(segments: list[str], query: str) -> bool:
    """/a/123.html, /xiangguan/1.html, /p/abc123, /news/8812, ?id=42."""
    if any(k.lower() in _ID_PARAMS and v.isdigit() for k, v in parse_qsl(query)):
        return True
    if not segments:
        return False
    stem, dot, ext = segments[-1].rpartition(".")
    if dot and re.fullmatch(_PAGE_EXT, ext, re.I):
        return any(c.isdigit() for c in stem)
    last = segments[-1]
    return sum(c.isdigit() for c in last) >= 3 and re.fullmatch(r"[\w-]+", last) is not None


def _is_pagination_url(segments: list[str], query: str) -> bool:
    if any(k.lower() in _PAGE_PARAMS for k, _ in parse_qsl(query)):
        return True
    return any(s.lower() == "page" and n.isdigit() for s, n in pairwise(segments))


def _excluded(url: str, page_url: str, site: str) -> bool:
    """Rule 2: off-site, home, index, pagination, asset and utility URLs are never articles."""
    parts = urlsplit(url)
    if url == page_url or _site(parts.hostname or "") != site:
        return True
    segments = _segments(parts.path)
    params = {k.lower() for k, _ in parse_qsl(parts.query)}
    if params & _SEARCH_PARAMS or _is_pagination_url(segments, parts.query):
        return True
    lowered = [s.lower() for s in segments]
    stem, dot, ext = lowered[-1].rpartition(".") if lowered else ("", "", "")
    if any(s in _NON_ARTICLE_SEGMENTS for s in lowered) or stem in _UTILITY_PAGES:
        return True
    if _has_numeric_id([], parts.query):  # /?p=481, /show.php?id=7: the query names the article
        return False
    if not segments or (len(segments) == 1 and _HOME_FILE.match(segments[0])):
        return True  # the home page
    if _INDEX_FILE.match(lowered[-1]) or (dot and ext in _ASSET_EXT):
        return True
    return parts.path.endswith("/") and not _has_dated_path(segments)


def _looks_like_article(url: str) -> bool:
    parts = urlsplit(url)
    segments = _segments(parts.path)
    return _has_dated_path(segments) or _has_numeric_id(segments, parts.query)


def _shape(url: str) -> tuple[str, ...]:
    """The URL's pattern: directories (numbers as #) and the file's extension."""
    segments = _segments(urlsplit(url).path)
    dirs = tuple("#" if s.isdigit() else s for s in segments[:-1])
    last = segments[-1] if segments else ""
    return (*dirs, "*." + last.rpartition(".")[2] if "." in last else "*")


_LIST_TAGS = frozenset({"ul", "ol", "dl", "tbody", "table"})


def _container(link: etree._Element) -> etree._Element | None:
    """The list a link belongs to: the nearest ul/ol/dl/table, or the parent of its <article>."""
    for el in link.iterancestors():
        if el.tag in _LIST_TAGS:
            return el
        if el.tag == "article":
            return el.getparent()
    return None


# ---------------------------------------------------------------- next page

_ARROWS = "›»>＞→≫〉"
_NEXT_WORDS = frozenset(
    {"下一页", "下页", "后页", "下一頁", "下頁", "後頁", "next", "nextpage", "olderposts"}
)
_MORE_WORDS = frozenset({"更多", "加载更多", "查看更多", "more", "loadmore"})
_NEXT_CLASSES = frozenset({"next", "nextpage", "next-page", "next_page", "page-next", "pagenext"})


def _next_kind(anchor: etree._Element) -> str | None:
    """Classify an anchor: "next" (an unmistakable next-page link), "more" (更多/More) or None."""
    label = " ".join(anchor.text_content().split()) or anchor.get("title") or anchor.get("aria-label") or ""
    bare = re.sub(rf"[\s{_ARROWS}]", "", label).lower()
    if bare in _NEXT_WORDS or (not bare and label.strip() in {"›", "»", ">", "＞", "→"}):
        return "next"
    return "more" if bare in _MORE_WORDS else None


def _find_next(doc: etree._Element, base: str, page_url: str, site: str) -> str | None:
    def resolve(href: str | None) -> str | None:
        if not href or href.lstrip().startswith("#"):
            return None
        try:
            url = canonical_url(href, base)
        except NormaliseError:
            return None
        return url if url != page_url and _site(urlsplit(url).hostname or "") == site else None

    anchors = doc.xpath("//a[@href]")
    rel_next = [*doc.xpath("//link[@href][@rel]"), *anchors]
    rel_next = [el for el in rel_next if "next" in (el.get("rel") or "").lower().split()]
    by_class = [
        a
        for a in anchors
        if _NEXT_CLASSES & {*_tokens(a), *(_tokens(a.getparent()) if a.getparent() is not None else [])}
    ]
    by_text = [a for a in anchors if _next_kind(a) == "next"]
    for el in (*rel_next, *by_class, *by_text):
        if url := resolve(el.get("href")):
            return url
    # 更多/More links lead to a section page as often as to page 2: only a pagination-shaped
    # target (list_2.html, ?page=2, /page/2/) makes one a next link.
    for a in anchors:
        if _next_kind(a) == "more" and (url := resolve(a.get("href"))):
            segments = _segments(urlsplit(url).path)
            if _is_pagination_url(segments, urlsplit(url).query) or (
                segments and re.match(r"^(list|index)[_-]\d+", segments[-1], re.I)
            ):
                return url
    return None


# ---------------------------------------------------------------- parse


def _document(html: str) -> etree._Element:
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", html)  # lxml refuses str input with an XML encoding decl
    if not text.strip():
        raise DiscoverError("listing page is empty")
    try:
        return lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        raise DiscoverError(f"listing page cannot be parsed as HTML: {exc}") from exc


def parse_listing(html: str, url: str) -> ListingPage:
    """The article links of the listing page `html` fetched from `url`, and its next page.

    Raises DiscoverError when `url` is not an absolute http(s) URL or the page is empty.
    """
    try:
        page_url = canonical_url(url)
    except NormaliseError as exc:
        raise DiscoverError(f"listing page URL is unusable: {exc}") from exc
    doc = _document(html)
    base_hrefs = doc.xpath("//head/base/@href")
    base = page_url
    if base_hrefs:
        with suppress(NormaliseError):  # a broken <base> is ignored, as browsers do
            base = canonical_url(str(base_hrefs[0]), page_url)
    site = _site(urlsplit(page_url).hostname or "")
    next_page = _find_next(doc, base, page_url, site)

    # (url, link element) for every candidate link that survives rules 1 and 2, in order
    candidates: list[tuple[str, etree._Element]] = []
    for a in doc.iter("a"):
        href = (a.get("href") or "").strip()
        if not href or href.startswith("#") or _in_chrome(a):
            continue
        if re.fullmatch(r"\d+", " ".join(a.text_content().split())) or _next_kind(a) == "next":
            continue  # page numbers and next links of a pager without a telling class
        try:
            link = canonical_url(href, base)
        except NormaliseError:
            continue  # javascript:, mailto:, tel:, data: — not pages at all
        if link == next_page or _excluded(link, page_url, site):
            continue
        candidates.append((link, a))

    # Rule 3: the main list — the container with the most links of one URL shape.
    # Distinct URLs count, so an image link and a title link to one article are one entry.
    # dict.fromkeys keeps document order, so a tie goes to the list that comes first.
    members = dict.fromkeys((_container(a), _shape(link), link) for link, a in candidates)
    groups = Counter((box, shape) for box, shape, _ in members if box is not None)
    main: tuple[etree._Element | None, tuple[str, ...]] | None = None
    if groups:
        key, count = groups.most_common(1)[0]
        main = key if count >= 3 else None

    urls: dict[str, None] = {}
    for link, a in candidates:
        in_main = main is not None and (_container(a), _shape(link)) == main
        if in_main or _looks_like_article(link):
            urls.setdefault(link, None)
    return ListingPage(article_urls=tuple(urls), next_page=next_page)
