"""Source (来源) and author (作者/编辑) of an article page, and where its info block is.

Chinese CMS pages put a one-line info block right under the headline:
`日期: … 来源: 新华社 作者: 张三 点击: 12`, as plain text or with each value in a span. We
read that block first because it is about this article; structured metadata
(og:site_name, JSON-LD publisher) names the *site*, so it is only the fallback for the
source. The same block is where dates.py looks for the date line, so finding it lives here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lxml.html import HtmlElement

from syndicator.chars import HAN, char_class

from .document import per_tree
from .jsonld import json_ld_objects, ld_name, ld_types
from .title import page_title

# ---------------------------------------------------------------- page geometry

_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "head", "title"})
# Containers whose dates and bylines belong to other articles or to the site. A footer named
# for the post (post-footer, entry-footer) is the article's own, as an <article>'s <footer>
# is: its line "Dieser Artikel wurde am … geschrieben" is the post's date line.
EXCLUDED = re.compile(
    r"(?<![a-z])(?:related|relate|xiangguan|xgwz|xgyd|hot|remen|rank|paihang|sidebar|side|aside|"
    r"recommend|tuijian|(?<!post[-_])(?<!entry[-_])(?<!asset[-_])(?<!article[-_])foot(?:er)?|copyright|"
    r"comment|pinglun|reply|list|zuixin|latest|widget)",
    re.IGNORECASE,
)
# (Not td: old CMS templates lay the whole page out in tables.)
_EXCLUDED_TAGS = frozenset({"li", "aside", "footer", "nav", "a"})
_BLOCK_TAGS = frozenset(
    {"p", "div", "table", "ul", "ol", "section", "article", "blockquote", "h2", "h3", "dl"}
)
# Class/id words of an article's info block.
INFO_CLASS = re.compile(
    r"(?<![a-z])(?:info|meta|time|date|pubtime|pubdate|publish|post-meta|article-info|"
    r"entry-meta|byline|source|author|attr|xinxi|shijian)",
    re.IGNORECASE,
)
_LOGO = re.compile(r"logo|brand|site-?name", re.IGNORECASE)
_SHORT = 200  # an info block is a line or two; anything longer is body text
_BODY_TEXT = 80  # the first paragraph this long is where the body starts


def element_text(el: HtmlElement) -> str:
    """The visible text of `el` in reading order, whitespace (NBSP, U+3000 too) as written.

    A node's text, then each child's text and that child's tail, so `<b>x<i>y</i></b>z`
    reads "xyz"; scripts, styles and comments add nothing but their tail.
    """
    parts: list[str] = []
    stack: list[tuple[HtmlElement, bool]] = [(el, False)]
    while stack:
        node, closing = stack.pop()
        if closing:
            if node is not el and node.tail:
                parts.append(node.tail)
            continue
        stack.append((node, True))
        if isinstance(node.tag, str) and node.tag not in _SKIP_TAGS:
            if node.text:
                parts.append(node.text)
            stack.extend((child, False) for child in reversed(node))
    return "".join(parts)


@per_tree
def element_texts(root: HtmlElement) -> dict[HtmlElement, str]:
    """`element_text` of `root` and of every node under it, in one pass over the tree.

    For loops that read the text of every block of the page: calling `element_text` on
    each would walk every subtree again (quadratic on deep pages). Children come after
    their parent in document order, so walking it backwards builds each text from its
    children's, in the same reading order as `element_text`.
    """
    inner: dict[HtmlElement, str] = {}  # element_text of the node
    outer: dict[HtmlElement, str] = {}  # what the node adds to its parent's text
    for node in reversed(list(root.iter())):
        tag = node.tag
        if isinstance(tag, str) and tag not in _SKIP_TAGS:
            children = "".join([outer[child] for child in node]) if len(node) else ""
            inner[node] = (node.text or "") + children
        else:
            inner[node] = ""
        outer[node] = inner[node] + (node.tail or "")
    return inner


def squash(text: str) -> str:
    """One space per whitespace run, ends stripped."""
    # str.split() splits on every whitespace character (U+3000 and NBSP included), just as
    # a `\s+` regex does, and is several times faster on the long texts of whole boxes.
    return " ".join(text.split())


def _attrs(el: HtmlElement) -> str:
    return f"{el.get('class', '')} {el.get('id', '')}"


def in_excluded(el: HtmlElement, stop: HtmlElement | None = None) -> bool:
    """True when `el` sits in a list item, aside, footer, nav or a related/hot/sidebar box.

    The climb ends below `stop`: a box that also holds the headline (an <aside> or <li>
    some CMSs wrap the whole article header in) is the article's own, not a sidebar.
    """
    node: HtmlElement | None = el
    while node is not None and node is not stop and isinstance(node.tag, str):
        if node.tag in ("body", "html"):
            break
        if node.tag in _EXCLUDED_TAGS or EXCLUDED.search(_attrs(node)):
            return True
        node = node.getparent()
    return False


_LAYOUT_BOX = 1000  # a box holding this much text holds the article: a layout column, not a sidebar


def outside_boxes(el: HtmlElement) -> bool:
    """Not inside a list/aside/footer/related box of its own.

    Only boxes below the article's region count: some CMSs lay the whole article out in an
    <li> column, and an <article>'s own <footer> carries its date line (HTML5).
    """
    stop = None
    for anc in el.iterancestors():
        own_footer = anc.tag == "footer" and any(a.tag == "article" for a in anc.iterancestors())
        if own_footer or anc.tag == "article" or len(squash(anc.text_content())) >= _LAYOUT_BOX:
            stop = anc
            break
    return not in_excluded(el, stop)


def _title_text(tree: HtmlElement) -> str:
    title = tree.find(".//title")
    return squash(title.text_content()) if title is not None else ""


def headline(tree: HtmlElement) -> HtmlElement | None:
    """The article's own <h1> (not a logo h1); an h2 repeating <title> when there is no h1."""
    page_title = _title_text(tree)
    candidates = [h for h in tree.iter("h1") if squash(h.text_content()) and not _LOGO.search(_attrs(h))]
    for h in candidates:
        if page_title and squash(h.text_content())[:12] in page_title:
            return h
    if candidates:
        return candidates[0]
    # No <h1>: an h2, or a bold/title cell that repeats the <title> (government CMS pages).
    for h in tree.iter("h2", "h3", "strong", "b", "td", "div", "p", "span"):
        text = squash(h.text_content())
        repeats_title = len(text) >= 6 and page_title.startswith(text) and len(text) * 2 >= len(page_title)
        if repeats_title and not in_excluded(h):
            return h
    return _element_of_title(tree)


def _element_of_title(tree: HtmlElement) -> HtmlElement | None:
    """The element whose whole text is the headline title.py reads from og:title or <title>.

    For pages whose headline is a bare `<div id="thread_subject">` under a long
    keyword-stuffed <title>, or an <h3> inside the layout <li> that holds the article.
    A link or a list box repeating the headline (a related list) does not count.
    """
    wanted = "".join(page_title(tree, json_ld=json_ld_objects(tree)).split())
    if len(wanted) < 6:
        return None
    texts = element_texts(tree)

    def is_title(node: HtmlElement) -> bool:
        return "".join(texts.get(node, "").split()) == wanted

    for el in tree.iter("h1", "h2", "h3", "h4", "div", "p", "span", "td", "strong", "b"):
        if not is_title(el) or any(a.tag == "a" for a in el.iterancestors()) or not outside_boxes(el):
            continue
        # The innermost element holding it: its siblings are the info line.
        while (inner := next((c for c in el if is_title(c)), None)) is not None:
            el = inner
        return el
    return None


def _body_start(order: dict[HtmlElement, int]) -> int:
    """Document position of the first long paragraph: where the article body begins."""
    for el, pos in order.items():
        if el.tag not in ("p", "div", "td"):
            continue
        own = el.text_content() if el.tag == "p" else (el.text or "") + "".join(c.tail or "" for c in el)
        if len(squash(own)) >= _BODY_TEXT and not in_excluded(el):
            return pos
    return len(order)


def head_text(el: HtmlElement) -> str:
    """The text of `el` before its first block child: its own line.

    An unclosed `<div class="info">` swallows the body that follows it; its first line is
    still the info line.
    """
    parts = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str) and child.tag in _BLOCK_TAGS:
            break
        parts.append(
            element_text(child) if isinstance(child.tag, str) and child.tag not in _SKIP_TAGS else ""
        )
        parts.append(child.tail or "")
    return "".join(parts)


def _line_of(el: HtmlElement) -> str | None:
    """The info text `el` carries: all of it when short, else its own first line if short."""
    text = element_text(el)
    if len(squash(text)) <= _SHORT:
        return text if squash(text) else None
    first = head_text(el)
    return first if 0 < len(squash(first)) <= _SHORT else None


@per_tree
def info_lines(tree: HtmlElement) -> list[tuple[HtmlElement, str]]:
    """The article's info block as (element, text) pairs, nearest the headline first.

    First the short siblings right after the headline (climbing out of a title wrapper
    when the <h1> stands alone), stopping at the body; then elements whose class/id says
    info/meta/date/source that lie before the body and outside lists, sidebars and footers.
    """
    found: list[tuple[HtmlElement, str]] = []
    h1 = headline(tree)
    if h1 is not None:
        node: HtmlElement | None = h1
        reached_body = False
        for _ in range(3):
            if node is None or node.tag in ("body", "html"):
                break
            for sib in node.itersiblings():
                if not isinstance(sib.tag, str) or sib.tag in _SKIP_TAGS:
                    continue
                if in_excluded(sib, node.getparent()):  # boxes shared with the headline are its own
                    continue
                length = len(squash(element_text(sib)))
                if length > _SHORT or (sib.find(".//p") is not None and length > _BODY_TEXT):
                    reached_body = True
                    first = head_text(sib)
                    if 0 < len(squash(first)) <= _SHORT and INFO_CLASS.search(_attrs(sib)):
                        found.append((sib, first))  # an unclosed info line that swallowed the body
                    break
                if length:
                    found.append((sib, element_text(sib)))
                if len(found) >= 3:
                    break
            if found or reached_body:
                break  # the headline's own block ends here; its parent's siblings are other things
            node = node.getparent()
    seen = {el for el, _ in found}
    order = {el: i for i, el in enumerate(tree.iter()) if isinstance(el.tag, str)}
    start = _body_start(order)
    for el, pos in order.items():
        if pos >= start:
            break
        if el.tag in ("body", "html") or not INFO_CLASS.search(_attrs(el)) or el in seen:
            continue
        if any(anc in seen for anc in el.iterancestors()) or in_excluded(el):
            continue
        if line := _line_of(el):
            found.append((el, line))
            seen.add(el)
    return found


# ---------------------------------------------------------------- labelled values

_HAN = char_class(HAN)
_STOP = (
    r"(?:责任编辑|收集编辑|编辑|责编|主编|编审|作者|记者|通讯员|撰文|摄影|来源|稿源|出处|日期|时间|"
    r"发布时间|发布日期|发表时间|更新时间|点击|阅读|浏览|访问|人气|字号|字体|分享|评论|"
    r"Source|Author|Editor|Date|Posted|Published|Updated)\s*[:：]"
    rf"|(?<![{_HAN}])文\s*[:：/／]"
)
_DATE_AHEAD = r"(?:\d{4}\s*[-/.年]\s*\d{1,2}|\d{1,2}月\d{1,2}日)"
# A value runs to the next label, date, separator or run of spaces.
_VALUE = (
    rf"[ \t]*(?!{_STOP})(?P<v>[^\s:：].*?)"
    rf"(?=[ \t]{{2,}}|[\xa0\u3000\r\n|｜]|\s*(?:{_STOP})|\s*{_DATE_AHEAD}|$)"
)
_SOURCE_RE = re.compile(
    rf"(?:文章来源|新闻来源|消息来源|信息来源|来源|稿源|出处|(?<![A-Za-z])Source)\s*[:：]{_VALUE}",
    re.IGNORECASE,
)
# Author labels in order of preference: a writer over an editor.
_AUTHOR_RES = (
    re.compile(rf"(?:作者|记者|撰稿|撰文|(?<![A-Za-z])Author)\s*[:：]{_VALUE}", re.IGNORECASE),
    re.compile(rf"(?<![{_HAN}])文\s*[:：/／]{_VALUE}"),
    re.compile(r"(?<![A-Za-z])[Bb]y\s+(?P<v>[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,3})"),
    re.compile(rf"(?:责任编辑|收集编辑|编辑|责编|(?<![A-Za-z])Editor)\s*[:：]{_VALUE}", re.IGNORECASE),
)
_HAN_START = re.compile(f"[{_HAN}]")
_LABEL_ONLY = re.compile(rf"^(?:{_STOP})")
_TRIM = " \t:：,，;；、|｜()（）[]【】<>《》\"'“”"
_MAX_NAME = 40


def _clean(value: str | None) -> str | None:
    if not value:
        return None
    text = squash(value).strip(_TRIM)
    if not text or len(text) > _MAX_NAME or _LABEL_ONLY.match(text) or re.fullmatch(r"[\d\W_]+", text):
        return None
    if re.match(r"(?:https?:)?//", text):  # article:author is often a profile URL, not a name
        return None
    return text


def _first(pattern: re.Pattern[str], texts: Iterable[str]) -> str | None:
    for text in texts:
        for match in pattern.finditer(text):
            value = match["v"].strip()
            if _HAN_START.match(value):
                value = value.split()[0]  # Chinese names never hold a space: `新华社 阅读 3万`
            if value := _clean(value):
                return value
    return None


def _short_labelled_texts(tree: HtmlElement) -> list[str]:
    """Short lines anywhere (outside lists/sidebars/footers) that start with a label."""
    texts = []
    all_texts = element_texts(tree)
    for el in tree.iter("p", "div", "span", "section", "em", "small", "font"):
        raw = all_texts[el]
        # A block's text is a prefix of it: when its first 400 characters already squash to
        # more than 80, so does the whole (the page's big wrappers are not squashed whole).
        if len(raw) > 400 and len(squash(raw[:400]).lstrip("([【（ ")) > 80:
            continue
        text = squash(raw).lstrip("([【（ ")
        if 0 < len(text) <= 80 and re.match(_STOP, text, re.IGNORECASE) and not in_excluded(el):
            texts.append(raw)
    return texts


def _class_value(tree: HtmlElement, words: str) -> str | None:
    pattern = re.compile(rf"(?<![a-z])(?:{words})(?![a-z])", re.IGNORECASE)
    texts = element_texts(tree)
    for el in tree.iter():
        named = el.get("class") or el.get("id")  # most elements are not: no string built for them
        if not named or not isinstance(el.tag, str) or not pattern.search(_attrs(el)) or in_excluded(el):
            continue
        text = squash(texts[el])
        text = re.sub(rf"^(?:{_STOP}|[Bb]y\s)\s*", "", text, flags=re.IGNORECASE)
        if value := _clean(text):
            return value
    return None


def _meta(tree: HtmlElement, *names: str) -> str | None:
    wanted = {n.lower() for n in names}
    for meta in tree.iter("meta"):
        key = (meta.get("name") or meta.get("property") or "").strip().lower()
        if key in wanted and (value := _clean(meta.get("content"))):
            return value
    return None


def byline(tree: HtmlElement) -> tuple[str | None, str | None]:
    """(source, author) of the article; each None when the page does not say."""
    info = [text for _, text in info_lines(tree)]
    fallback_lines = _short_labelled_texts(tree)
    objects = json_ld_objects(tree)
    articles = [o for o in objects if {"datePublished", "headline", "author", "publisher"} & o.keys()]

    source = (
        _first(_SOURCE_RE, info)
        or _first(_SOURCE_RE, fallback_lines)
        or _class_value(tree, "source|laiyuan|copyfrom")
        or _meta(tree, "source", "contentsource")
        or _meta(tree, "og:site_name")
        or next((n for o in articles if (n := _clean(ld_name(o.get("publisher"))))), None)
        or next((n for o in objects if ld_types(o) & {"Organization", "NewsMediaOrganization",
                                                        "WebSite"} and (n := _clean(ld_name(o)))), None)
    )  # fmt: skip

    author = None
    for pattern in _AUTHOR_RES:
        if author := _first(pattern, info) or _first(pattern, fallback_lines):
            break
    if author is None:
        rel = next((a for a in tree.iter("a") if "author" in (a.get("rel") or "").lower().split()), None)
        author = (
            _class_value(tree, "author|zuozhe|writer|byline")
            or _meta(tree, "author", "article:author", "byl", "dc.creator")
            or next((n for o in articles if (n := _clean(ld_name(o.get("author"))))), None)
            or (_clean(rel.text_content()) if rel is not None else None)
        )
    return source, author
