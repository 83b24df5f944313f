"""The upstream category path of an article page, read from its breadcrumb.

Sources in order of trust: the source's own CSS rule; JSON-LD BreadcrumbList; microdata
BreadcrumbList; breadcrumb markup (class/id words such as breadcrumb, crumbs, position,
location, weizhi/dangqian — the pinyin Chinese CMS templates use — and <nav> lists); text
trails starting with 当前位置/您的位置/You are here. The home crumb, the trailing separator
and the article's own title (or a generic 正文/详情 stand-in for it) are not categories.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from lxml.html import HtmlElement

from syndicator.errors import SyndicatorError
from syndicator.models import SiteRules

from .byline import element_text, headline, squash
from .jsonld import json_ld_objects, ld_name, ld_types


class BreadcrumbRuleError(SyndicatorError, ValueError):
    """The source's category selector is not valid CSS."""


_HOME = frozenset(
    {
        "首页",
        "主页",
        "网站首页",
        "返回首页",
        "首頁",
        "本站首页",
        "home",
        "homepage",
        "home page",
        "start",
        "index",
    }
)
# Trailing crumbs that stand for "this page", not a category.
_SELF = frozenset(
    {"正文", "详情", "详细内容", "内容", "正文内容", "文章正文", "阅读文章", "浏览文章", "article"}
)
# "资讯正文", "新闻详情": a section word and "this page".
_ARROWS = re.compile(r"^\s*(?:>>|>|›|»|→|＞)\s*")
_SELF_TAIL = re.compile(r"^\w{1,4}(?:正文|详情)$")
_SEPARATORS = re.compile(r"\s*(?:>>|>|›|»|→|＞|〉|》|\||｜|(?<=\s)[/／](?=\s)|\\)\s*")
_TRAIL_LABEL = re.compile(
    r"(?:当前位置|您的位置|你的位置|您现在的位置|你现在的位置|现在的位置|您当前的位置|所在位置|当前页面|"
    r"当前栏目|现在位置|You are here)\s*[:：]?|位置\s*[:：]",
    re.IGNORECASE,
)
_TRAIL_START = re.compile(rf"^\s*(?:{_TRAIL_LABEL.pattern})", re.IGNORECASE)
_CRUMB_CLASS = re.compile(
    r"breadcrumb|crumb|(?<![a-z])(?:position|location|path|weizhi|dangqian|mianbaoxie|bread)(?![a-z])",
    re.IGNORECASE,
)
_CRUMB_WORDS = re.compile(r"面包屑|导航路径")
_HOME_PATHS = frozenset({"", "/", "/index.html", "/index.htm", "/index.php", "/index.shtml", "/default.aspx"})
_TRIM = " \t\r\n\xa0\u3000:：>›»→＞|｜/\\-·,，"
_MAX_CRUMB = 30  # category names are short; a longer last crumb is the title
_MAX_TRAIL = 300  # a breadcrumb is one short line


@dataclass(frozen=True)
class _Crumb:
    text: str
    href: str | None


def _clean(text: str) -> str:
    return squash(_TRAIL_LABEL.sub(" ", text)).strip(_TRIM)


def _crumbs_of(el: HtmlElement) -> list[_Crumb]:
    """Links as whole crumbs, other text split on separators, in document order."""
    crumbs: list[_Crumb] = []

    def add_text(text: str | None) -> None:
        for part in _SEPARATORS.split(_TRAIL_LABEL.sub(" ", text or "")):
            if cleaned := _clean(part):
                crumbs.append(_Crumb(cleaned, None))

    def walk(node: HtmlElement) -> None:
        if node.tag == "a":
            if text := _clean(element_text(node)):
                crumbs.append(_Crumb(text, node.get("href")))
            return
        if node.tag in ("script", "style") or not isinstance(node.tag, str):
            return
        add_text(node.text)
        for child in node:
            walk(child)
            add_text(child.tail)

    walk(el)
    return crumbs


def _title_candidates(tree: HtmlElement) -> list[str]:
    titles = []
    h1 = headline(tree)
    if h1 is not None:
        titles.append(squash(h1.text_content()))
    for meta in tree.iter("meta"):
        if (meta.get("property") or meta.get("name") or "").lower() in ("og:title", "twitter:title"):
            titles.append(squash(meta.get("content") or ""))
    title = tree.find(".//title")
    if title is not None:
        titles.append(squash(title.text_content()))
    return [t for t in titles if t]


def _is_title(text: str, titles: list[str]) -> bool:
    stem = text.rstrip(".…。 ")
    for title in titles:
        if text == title or stem == title:
            return True
        if title.startswith(stem) and (len(stem) >= len(title) / 2 or stem != text):
            return True
    return False


def _is_home(text: str) -> bool:
    """首页, Home, and a site's own home link (`CSDN首页`, `新华网首页`)."""
    return text.lower() in _HOME or (text.endswith("首页") and len(text) <= 12)


def _from_link_row(tree: HtmlElement) -> HtmlElement | None:
    """An unnamed trail: a short row of links split by separators that starts at home.

    `<div class="links"><a href="/">和讯网</a> &gt; <a>股票</a> &gt; 正文</div>`: no class or
    label says "breadcrumb", but links in a row joined by > and ending in 正文, or starting
    at the home page, read as nothing else.
    """
    body = tree.find("body")
    for el in (body if body is not None else tree).iter("div", "p", "span", "td", "li"):
        links = el.findall("a") if len(el) >= 2 else []  # (ElementPath: no XPath per element)
        if len(links) < 2 or not _is_trail(el):
            continue
        crumbs = _crumbs_of(el)
        if not crumbs or not all(_ARROWS.search(a.tail or "") for a in links[:-1]):
            continue  # a menu split by | (关于我们 | 服务协议 | 网站导航) is no trail
        first = crumbs[0]
        starts_home = _is_home(first.text) or (
            first.href is not None and urlsplit(first.href).path in _HOME_PATHS
        )
        if starts_home:
            return el
    return None


def _finish(crumbs: list[_Crumb], titles: list[str]) -> tuple[str, ...]:
    """Drop home, self and title crumbs; keep the categories in order."""
    kept: list[_Crumb] = []
    # The trail starts at its home crumb; a link before it (订阅RSS, floated right) is not in it.
    homes = [i for i, crumb in enumerate(crumbs[:3]) if _is_home(crumb.text)]
    if homes:
        crumbs = crumbs[homes[0] :]
    for i, crumb in enumerate(crumbs):
        if _is_home(crumb.text):
            continue
        if i == 0 and crumb.href is not None and urlsplit(crumb.href).path in _HOME_PATHS:
            continue  # the site name linking to the home page
        kept.append(crumb)
    while kept and (
        kept[-1].text.lower() in _SELF
        or (kept[-1].href is None and _SELF_TAIL.match(kept[-1].text))
        or _is_title(kept[-1].text, titles)
        or (kept[-1].href is None and len(kept[-1].text) > _MAX_CRUMB)
    ):
        kept.pop()
    if not kept or any(len(c.text) > _MAX_CRUMB * 2 for c in kept):
        return ()
    names: list[str] = []
    previous: _Crumb | None = None
    for crumb in kept:
        # The same name twice in a row is one crumb (a link and its text copy), unless both
        # link to different pages: a section and its sub-section may share a name (快讯 > 公司 > 公司).
        repeated = previous is not None and previous.text == crumb.text
        if not repeated or (previous.href and crumb.href and previous.href != crumb.href):
            names.append(crumb.text)
        previous = crumb
    return tuple(names)


def _from_json_ld(tree: HtmlElement) -> list[_Crumb]:
    for obj in json_ld_objects(tree):
        if "BreadcrumbList" not in ld_types(obj):
            continue
        items = obj.get("itemListElement")
        items = items if isinstance(items, list) else [items]
        entries = [i for i in items if isinstance(i, dict)]

        def position(item: dict) -> float:
            try:
                return float(item.get("position", 0))
            except (TypeError, ValueError):
                return 0.0

        crumbs = []
        for item in sorted(entries, key=position):
            name = ld_name(item) or ld_name(item.get("item"))
            target = item.get("item")
            href = (
                target if isinstance(target, str) else (target or {}).get("@id") or (target or {}).get("url")
            )
            if name:
                crumbs.append(_Crumb(_clean(name), href if isinstance(href, str) else None))
        if crumbs:
            return [c for c in crumbs if c.text]
    return []


def _from_microdata(tree: HtmlElement) -> list[_Crumb]:
    for scope in tree.xpath("//*[contains(@itemtype, 'BreadcrumbList')]"):
        crumbs = []
        for item in scope.xpath(".//*[@itemprop='itemListElement']"):
            names = item.xpath(".//*[@itemprop='name']")
            text = (names[0].get("content") or element_text(names[0])) if names else element_text(item)
            link = item if item.tag == "a" else next(iter(item.iter("a")), None)
            if cleaned := _clean(text):
                crumbs.append(_Crumb(cleaned, link.get("href") if link is not None else None))
        if crumbs:
            return crumbs
    return []


def _is_trail(el: HtmlElement) -> bool:
    """A short element that reads like a breadcrumb: separators, a trail label or a list."""
    text = element_text(el)
    if not squash(text) or len(squash(text)) > _MAX_TRAIL:
        return False
    links = len(el.xpath(".//a"))
    return bool(
        _TRAIL_START.search(text)
        or (links >= 1 and _SEPARATORS.search(text))
        or (links >= 2 and el.xpath("./li | .//ol/li | .//ul/li"))
        # Links separated by arrow images (<a>快讯</a><img src="arrow.png"><a>公司</a>).
        or (links >= 2 and el.xpath(".//a/following-sibling::img[following-sibling::a]"))
    )


def _markup_candidates(tree: HtmlElement) -> list[HtmlElement]:
    body = tree.find("body")
    root = body if body is not None else tree
    out: list[HtmlElement] = []
    for el in root.iter():
        if not isinstance(el.tag, str) or el.tag in ("script", "style", "body"):
            continue
        named = el.get("class") or el.get("id") or el.get("aria-label")  # most elements: none
        attrs = f"{el.get('class', '')} {el.get('id', '')} {el.get('aria-label', '')}" if named else ""
        if named and (_CRUMB_CLASS.search(attrs) or _CRUMB_WORDS.search(attrs)):
            out.append(el)
        elif el.tag == "nav" and el.xpath("./ol | ./*/ol | ./ul[li[@aria-current] or li[not(.//a)]]"):
            out.append(el)  # a <nav> list ending in the current page (plain site menus are all links)
    return out


def _from_text_trail(tree: HtmlElement) -> HtmlElement | None:
    """The smallest element whose text starts with a trail label (当前位置: …)."""
    body = tree.find("body")
    for el in (body if body is not None else tree).iter():
        if not isinstance(el.tag, str) or el.tag in ("script", "style"):
            continue
        if el.text and _TRAIL_START.search(el.text):
            # The label may stand alone in a <span>/<b>: the trail is then its parent.
            node = el
            while node.getparent() is not None and len(_crumbs_of(node)) < 2 and node.tag != "body":
                node = node.getparent()
            return node
    return None


def breadcrumb_path(tree: HtmlElement, *, rules: SiteRules) -> tuple[str, ...]:
    """The category path (("情感", "故事")) without the home crumb or the article's title.

    Raises BreadcrumbRuleError when rules.category is not a valid CSS selector.
    """
    titles = _title_candidates(tree)
    if rules.category:
        try:
            chosen = tree.cssselect(rules.category)
        except Exception as exc:  # cssselect raises several parse error types
            raise BreadcrumbRuleError(f"invalid category selector {rules.category!r}: {exc}") from exc
        for el in chosen:
            if path := _finish(_crumbs_of(el), titles):
                return path
    for crumbs in (_from_json_ld(tree), _from_microdata(tree)):
        if path := _finish(crumbs, titles):
            return path
    for el in _markup_candidates(tree):
        if _is_trail(el) and (path := _finish(_crumbs_of(el), titles)):
            return path
    trail = _from_text_trail(tree)
    if trail is not None and len(squash(element_text(trail))) <= _MAX_TRAIL:
        return _finish(_crumbs_of(trail), titles)
    row = _from_link_row(tree)
    return _finish(_crumbs_of(row), titles) if row is not None else ()
