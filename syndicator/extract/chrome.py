"""Site chrome, cut from a copy of the page before the body is looked for.

Navigation, share bars, related/hot/latest lists, footers, comment threads, scripts and
hidden elements are removed by tag, by class/id token and by the label a block starts with
(相关阅读, 分享到, Related posts), so that they can appear in no output even when they sit
inside the body container. The article's own short info line (date, source, author) goes
too. A source's `rules.drop` selectors are applied first; `BodyError` lives here because
this is the first place a site rule's selector meets the tree.
"""

from __future__ import annotations

import copy
import functools
import re
from typing import NamedTuple

import lxml.etree
import lxml.html
from lxml.cssselect import CSSSelector

from syndicator.errors import SyndicatorError
from syndicator.models import SiteRules
from syndicator.normalise.text import collapse_whitespace

NO_RULES = SiteRules()  # a source without site rules


class BodyError(SyndicatorError):
    """The page's body cannot be read: a site rule is unusable, or no text was found."""


_DROP_TAGS = (
    "script", "style", "noscript", "iframe", "frame", "button", "select", "textarea",
    "svg", "template", "link", "meta", "nav", "footer", "aside", "input", "object", "embed",
    "canvas", "audio", "video", "map",
)  # fmt: skip
# class/id tokens of page furniture (split on space, -, _ and camelCase boundaries).
_CHROME_TOKENS = frozenset(
    {
        "nav", "navbar", "navigation", "menu", "breadcrumb", "breadcrumbs", "crumb", "crumbs",
        "position", "location", "weizhi", "dangqian", "share", "sharing", "social", "bdshare",
        "related", "relate", "xiangguan", "relevant", "hot", "hots", "rank", "ranking",
        "recommend", "recommended", "tuijian", "footer", "foot", "copyright", "banquan",
        "sidebar", "comment", "comments", "pinglun", "reply", "ad", "ads", "advert", "adv",
        "advertisement", "banner", "slogan", "logo", "topbar", "toolbar", "login", "search",
        "subscribe", "newsletter", "widget", "popular", "latest", "zuixin", "remen", "more",
        "prenext", "prev", "next", "pager", "tags", "keywords", "print", "jubao", "report",
        "dig", "digg", "zan", "qrcode", "ewm",
    }
)  # fmt: skip
# Chrome names that also appear inside compound class names (jp-relatedposts, sharedaddy).
_CHROME_PARTS = (
    "related", "share", "sharing", "comment", "breadcrumb", "crumbs", "sidebar", "footer",
    "copyright", "recommend", "advert", "social", "widget", "newsletter", "subscribe",
    "pagination", "xiangguan", "tuijian", "pinglun",
)  # fmt: skip
_NOT_CHROME = frozenset({"content", "article", "text", "entry", "post"})  # never chrome by name
_UNSEEN = frozenset({"script", "style", "noscript", "template", "link", "meta"})  # not named by --explain
_SECTIONING = frozenset({"nav", "aside", "footer"})  # dropped by tag unless they hold the article
_DISCUSSION_TOKENS = frozenset({"comment", "comments", "pinglun", "reply", "replies", "disqus"})
# Markers of the article's own entry (schema.org itemprop, hAtom `hentry`, `post-body`): a
# chrome-named element that holds one of these with real text is a wrapper, not furniture.
_ENTRY_TOKENS = frozenset({"hentry", "content", "article", "entry", "post", "body", "text", "story"})
_ENTRY_MIN = 400
_PROSE_MIN = 40  # unlinked characters of a paragraph of prose
_LABEL_MAX = 12  # characters of a label line's own (unlinked) text
_LABEL_PROSE_MIN = 200  # one paragraph this long after a label is the article, not a list
# Inline hiding: what the reader never sees (schema.org copies of the article kept in a
# display:none block for crawlers, collapsed menus) is no part of the body.
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_TOKEN_SPLIT = re.compile(r"[\s_\-:.]+|(?<=[a-z])(?=[A-Z])")
# A block that starts with one of these labels is a list of other articles or a share bar.
_CHROME_LABEL = re.compile(
    r"^\s*(?:相关阅读|相关文章|相关新闻|相关推荐|相关链接|延伸阅读|扩展阅读|热门文章|热门推荐|热门阅读|热点推荐"
    r"|热点文章|最新文章|最新推荐|最新资讯|推荐阅读|推荐文章|猜你喜欢|你可能感兴趣|您可能感兴趣|精彩推荐|精彩图片"
    r"|阅读排行|点击排行|热门排行|排行榜|上一篇|下一篇|分享到|分享至|分享：|分享:|网友评论|发表评论|热门评论"
    r"|[【\[]?(?:免责声明|版权声明|特别声明)[】\]:：]"
    r"|Related (?:articles|posts|stories)|You may also like|Read more|More stories|Share this"
    r"|Popular posts|Recent posts|Most read)",
    re.IGNORECASE,
)
# class/id tokens of the article's own info line (date, source, author); removed when short.
_INFO_TOKENS = frozenset(
    {
        "info",
        "meta",
        "byline",
        "pubtime",
        "pubdate",
        "postmeta",
        "dateline",
        "source",
        "author",
        "time",
        "date",
    }
)
_INFO_MAX = 150
# Class names of CSS frameworks' "not shown" utilities (Bootstrap, Tailwind, WordPress).
_HIDDEN_CLASSES = frozenset({"hidden", "hide", "d-none", "sr-only", "visually-hidden", "screen-reader-text"})


_NO_TOKENS: frozenset[str] = frozenset()
# Any of _CHROME_PARTS inside a token; tokens hold no spaces, so searching them joined by
# spaces finds the same parts as testing each token for each part, in one regex pass.
_CHROME_PART = re.compile("|".join(_CHROME_PARTS))


def _tokens(el: lxml.html.HtmlElement) -> frozenset[str]:
    cls, ident = el.get("class"), el.get("id")
    if not cls and not ident:  # most elements: no split, no set built
        return _NO_TOKENS
    if not ident:
        return _split_tokens(cls)  # a page repeats its class names: split each once
    return _split_tokens(f"{cls or ''} {ident}")


@functools.lru_cache(maxsize=4096)
def _split_tokens(raw: str) -> frozenset[str]:
    return frozenset(t.lower() for t in _TOKEN_SPLIT.split(raw) if t)


def _text_len(el: lxml.html.HtmlElement) -> int:
    # Non-whitespace characters; str.split() is several times faster than a `\s+` regex.
    return sum(map(len, el.text_content().split()))


def _head(el: lxml.html.HtmlElement, size: int = 40) -> str:
    """`el.text_content()[:size]`, without building the whole text of a large block."""
    parts: list[str] = []
    held = 0
    for text in el.itertext():
        parts.append(text)
        held += len(text)
        if held >= size:
            break
    return "".join(parts)[:size]


class Removal(NamedTuple):
    """One block `strip_chrome` cut, for `--explain`: the rule that cut it, where it sat, its first words."""

    rule: str
    path: str
    text: str


def element_path(el: lxml.html.HtmlElement, depth: int = 4) -> str:
    """A short selector-like description: the last `depth` steps from <body> down."""
    steps = []
    for node in (el, *el.iterancestors()):
        if node.tag in ("body", "html"):
            break
        step = str(node.tag)
        if ident := (node.get("id") or "").strip():
            step += f"#{ident}"
        classes = (node.get("class") or "").split()
        step += "".join(f".{c}" for c in classes[:2])
        steps.append(step)
    steps.reverse()
    shown = steps[-depth:]
    prefix = "body > " if len(steps) <= depth else "… > "
    return prefix + " > ".join(shown) if shown else "body"


def _remove(el: lxml.html.HtmlElement) -> None:
    """Remove `el` but keep its tail text in the document."""
    if el.getparent() is not None:
        el.drop_tree()


def _select(tree: lxml.html.HtmlElement, selector: str) -> list[lxml.html.HtmlElement]:
    try:
        return CSSSelector(selector)(tree)
    except (lxml.etree.XPathError, SyntaxError, ValueError, Exception) as exc:
        raise BodyError(f"site rule selector {selector!r} is not valid CSS: {exc}") from exc


def _holds_entry(el: lxml.html.HtmlElement) -> bool:
    """True when `el` wraps the article's own entry (Blogger's `widget Blog` around the post)."""
    for inner in el.iterdescendants("div", "article", "section", "main"):
        tokens = _tokens(inner)
        marked = inner.get("itemprop") in ("articleBody", "blogPost") or tokens & _ENTRY_TOKENS
        if marked and not tokens & _DISCUSSION_TOKENS and _text_len(inner) >= _ENTRY_MIN:
            return True
    return False


def _holds_paragraphs(el: lxml.html.HtmlElement) -> bool:
    """True when `el` is itself the body: its own <p> children carry the article's text.

    A share widget's class is sometimes put on the body block (`BSHARE_POP … artibody`, for
    a "share the selected text" pop-up), and Movable Type puts the rest of a post after its
    fold in `<div id="more" class="asset-more">`; furniture never has paragraphs of unlinked
    prose as direct children, two of them already outweighing a teaser's line.
    """
    prose = []
    for p in el.iterchildren("p"):
        linked = sum(_text_len(a) for a in p.iter("a"))
        if _text_len(p) - linked >= _PROSE_MIN:
            prose.append(_text_len(p) - linked)
    return len(prose) >= 2 and sum(prose) >= _ENTRY_MIN


def _link_run_after(label: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    """The links listed under a label (<p>相关新闻：</p><p><a>…</a></p>… or a <ul> of links).

    The label is a line of its own, so the list it heads is a run of following siblings
    that hold nothing but links; the run ends at the first one that holds prose.
    """
    run = []
    for sibling in label.itersiblings():
        if not isinstance(sibling.tag, str) or sibling.tag not in ("p", "ul", "ol", "dl", "div"):
            break
        size = _text_len(sibling)
        if not size or _linked_len(sibling) < 0.9 * size:
            break
        run.append(sibling)
    return run


def _linked_len(el: lxml.html.HtmlElement) -> int:
    return sum(_text_len(a) for a in el.iter("a"))


def _label_line(el: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The line inside `el` that its leading label sits on: the label plus links at most."""
    for inner in el.iterdescendants("p", "div", "h2", "h3", "h4", "h5", "h6", "strong", "b", "span"):
        size = _text_len(inner)
        if size and size - _linked_len(inner) <= _LABEL_MAX:
            head = collapse_whitespace(_head(inner))
            return inner if _CHROME_LABEL.match(head) else None
    return None


def _prose_besides(el: lxml.html.HtmlElement, cut: list[lxml.html.HtmlElement]) -> bool:
    """True when `el` still holds paragraphs of the article's prose once `cut` is gone.

    Only <p> without links outside list items counts: a related list's summaries sit in
    its items or end in a link to the story (【详细】, Read more); an article's do not.
    """
    prose = []
    for p in el.iter("p"):
        ancestors = list(p.iterancestors())
        if any(p is c or c in ancestors for c in cut) or any(a.tag == "li" for a in ancestors):
            continue
        if _linked_len(p) == 0 and _text_len(p) >= _PROSE_MIN:
            prose.append(_text_len(p))
    return len(prose) >= 2 or sum(prose) >= _LABEL_PROSE_MIN


def strip_chrome(
    tree: lxml.html.HtmlElement, rules: SiteRules, removed: list[Removal] | None = None
) -> lxml.html.HtmlElement:
    """A copy of `tree` without site chrome (rules.drop first, then general rules).

    With `removed`, each block cut while still in the page is appended to it with the rule
    that cut it (for `--explain`); without it nothing extra is done, so extraction pays nothing.
    """
    work = copy.deepcopy(tree)

    def cut(el: lxml.html.HtmlElement, rule: str) -> None:
        # Only a block a reader would have seen is worth naming: not the inside of one cut
        # earlier, not <head>, not code (scripts, styles) that never shows as text.
        if (
            removed is not None
            and el.tag not in _UNSEEN
            and el.getparent() is not None
            and el.getroottree().getroot() is work
            and next(el.iterancestors("head"), None) is None
        ):
            removed.append(Removal(rule, element_path(el), _head(el, 60)))
        _remove(el)

    for selector in rules.drop:
        for el in _select(work, selector):
            cut(el, f"rules.drop {selector!r}")
    for el in list(work.iter(lxml.etree.Comment, lxml.etree.ProcessingInstruction)):
        _remove(el)
    for el in list(work.iter(*_DROP_TAGS)):
        # An unclosed <nav> (or <aside>, <footer>) swallows the rest of the page when parsed;
        # one that holds the article's own entry is kept (its links go as chrome below).
        if (
            el.tag in _SECTIONING
            and el.getparent() is not None
            and _linked_len(el) < 0.5 * _text_len(el)  # a real menu is mostly links
            and _holds_entry(el)
        ):
            continue
        cut(el, f"dropped tag <{el.tag}>")
    for el in list(work.iter()):
        classes, style = el.get("class"), el.get("style")
        if classes is None and style is None and el.get("hidden") is None:
            continue  # most elements: nothing that could hide them
        if isinstance(el.tag, str) and el.tag not in ("html", "body"):
            hidden_class = bool(classes and _HIDDEN_CLASSES.intersection(classes.split()))
            if el.get("hidden") is not None or hidden_class or (style and _HIDDEN_STYLE.search(style)):
                cut(el, "hidden element (hidden attribute, hiding class or display:none style)")
    body = work.find("body")
    total = _text_len(body) if body is not None else 0
    # The inside of a block cut below is skipped: nothing done there could change the page.
    # (`elements` keeps every element's Python object alive, so `gone` can hold them.)
    elements = list(work.iter())
    gone: set[lxml.html.HtmlElement] = set()

    def drop(el: lxml.html.HtmlElement, rule: str) -> None:
        gone.update(el.iter())
        cut(el, rule)

    for el in elements:
        if el in gone or not isinstance(el.tag, str) or el.tag in ("html", "body"):
            continue
        tokens = _tokens(el)
        chrome = (
            bool(tokens)
            and not tokens & _NOT_CHROME
            and (bool(tokens & _CHROME_TOKENS) or bool(_CHROME_PART.search(" ".join(tokens))))
        )
        # A <form> is a search box or comment form, unless (ASP.NET WebForms) it wraps the
        # whole page: it then goes through the same size guard as other chrome below.
        chrome = chrome or el.tag == "form"
        why = "a chrome class/id (share, related…)"
        if el.tag == "form":
            why = "a <form> (search box, comment form)"
        if (
            chrome
            and el.tag != "form"
            and not tokens & _DISCUSSION_TOKENS
            and (_holds_entry(el) or _holds_paragraphs(el))
        ):
            chrome = False
        if not chrome and el.tag in ("div", "section", "ul", "ol", "dl", "table", "p", "span", "td"):
            head = collapse_whitespace(_head(el))
            chrome = bool(_CHROME_LABEL.match(head))
            why = "block opening with a chrome label (Related posts, 相关阅读, 分享到, …)"
            if chrome and el.tag == "p" and _text_len(el) <= _LABEL_MAX:
                for item in _link_run_after(el):
                    drop(item, "links listed under a chrome label")
            elif chrome and el.tag != "p":
                # The article block itself may open with a label and its links: cut only
                # those, never the prose that follows them.
                label = _label_line(el)
                lines = [label, *_link_run_after(label)] if label is not None else []
                if lines and _prose_besides(el, lines):
                    for item in lines:
                        drop(item, "chrome label and its links, inside the article block")
                    chrome = False
        info = not chrome and tokens & _INFO_TOKENS and el.tag in ("div", "p", "section", "ul")
        if info and _text_len(el) < _INFO_MAX and next(el.iter("img"), None) is None:
            drop(el, "the article's info line (date, source, author)")
            continue
        if chrome:
            # Never cut away most of the page: a wrapper named "main-with-sidebar" is no sidebar.
            # A comment thread is the exception: on a busy forum it outweighs the article, but
            # a block named for comments never wraps the article itself.
            size = _text_len(el)
            if size > 600 and size > total * 0.5 and not tokens & _DISCUSSION_TOKENS:
                continue
            drop(el, why)
    return work
