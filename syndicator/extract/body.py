"""The article body: which element holds it, and its paragraphs and images in order.

Three ways to find the container, in order: the source's `rules.body` selector; the
element that holds the paragraphs trafilatura extracted (trafilatura is good at telling
body text from boilerplate, but loses lazy images and turns captions into paragraphs, so we
use it to *locate* the body and read the body ourselves); and our own density score (the
element whose <p> children carry the most unlinked text, helped by content/article/正文
class hints) for pages where trafilatura finds nothing or much less. Before any of this,
site chrome is cut from a copy of the tree — navigation, share bars, related/hot/latest
lists, footers, scripts — by tag, by class/id token and by the label a block starts with,
so that it can appear in no output even when it sits inside the container.
"""

from __future__ import annotations

import copy
import html
import re
from dataclasses import dataclass, replace

import lxml.etree
import lxml.html
from lxml.cssselect import CSSSelector

from syndicator.models import PageImage, SiteRules
from syndicator.normalise.text import collapse_whitespace

from .images import page_image

NO_RULES = SiteRules()  # a source without site rules


class BodyError(Exception):
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
_CONTENT_TOKENS = frozenset(
    {
        "content", "article", "post", "entry", "main", "text", "detail", "details", "body",
        "story", "zhengwen", "neirong", "wenzhang", "txt", "con", "cont", "artical", "news",
    }
)  # fmt: skip
_DISCUSSION_TOKENS = frozenset({"comment", "comments", "pinglun", "reply", "replies", "disqus"})
# Markers of the article's own entry (schema.org itemprop, hAtom `hentry`, `post-body`): a
# chrome-named element that holds one of these with real text is a wrapper, not furniture.
_ENTRY_TOKENS = frozenset({"hentry", "content", "article", "entry", "post", "body", "text", "story"})
_ENTRY_MIN = 400
# Inline hiding: what the reader never sees (schema.org copies of the article kept in a
# display:none block for crawlers, collapsed menus) is no part of the body.
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_TOKEN_SPLIT = re.compile(r"[\s_\-:.]+|(?<=[a-z])(?=[A-Z])")
# A block that starts with one of these labels is a list of other articles or a share bar.
_CHROME_LABEL = re.compile(
    r"^\s*(?:相关阅读|相关文章|相关新闻|相关推荐|相关链接|延伸阅读|扩展阅读|热门文章|热门推荐|热门阅读|热点推荐"
    r"|热点文章|最新文章|最新推荐|最新资讯|推荐阅读|推荐文章|猜你喜欢|你可能感兴趣|您可能感兴趣|精彩推荐|精彩图片"
    r"|阅读排行|点击排行|热门排行|排行榜|上一篇|下一篇|分享到|分享至|分享：|分享:|网友评论|发表评论|热门评论"
    r"|Related (?:articles|posts|stories)|You may also like|Read more|More stories|Share this"
    r"|Popular posts|Recent posts|Most read)",
    re.IGNORECASE,
)
# Lines in the body that belong to the page's furniture rather than the article.
_FURNITURE_LINE = re.compile(
    r"^(?:[(（\[【]?\s*(?:责任编辑|责编|编辑|审核|校对|来源|作者|记者|摄影|原标题)\s*[:：]\s*[^。]{0,30}[)）\]】]?"
    r"|[(（\[【]\s*(?:纠错|打印|关闭|收藏|返回顶部)\s*[)）\]】].*"
    r"|.*(?:版权所有|Copyright\s*(?:©|&copy;|\(c\))|ICP备|ICP证|备案号|All rights reserved).*)$",
    re.IGNORECASE,
)
_INFO_LABEL = re.compile(
    r"(?:日期|时间|发布|来源|作者|编辑|点击|浏览|阅读|阅读量|字号|Posted|By|Source)\s*[:：]", re.IGNORECASE
)
_DATE = re.compile(r"\d{4}\s*[-年/.]\s*\d{1,2}\s*[-月/.]\s*\d{1,2}|\d{1,2}:\d{2}")
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
_CAPTION_TOKENS = (
    "caption",
    "pic",
    "img-desc",
    "imgdesc",
    "imgtxt",
    "img_txt",
    "desc",
    "tuzhu",
    "note",
    "illustration",
)
# Unambiguous caption class names (unlike "pic" or "desc", which also name body blocks).
_CAPTION_NAMES = ("caption", "credit")
# Class names of CSS frameworks' "not shown" utilities (Bootstrap, Tailwind, WordPress).
_HIDDEN_CLASSES = frozenset({"hidden", "hide", "d-none", "sr-only", "visually-hidden", "screen-reader-text"})
_CENTERED = re.compile(r"text-align\s*:\s*center", re.IGNORECASE)
_CAPTION_TEXT = re.compile(r"^(?:图为|图[:：]|图片[:：]|▲|△|↑)|(?:摄|供图|图片来源.*|资料图|视觉中国)$")
_BLOCK_TAGS = frozenset(
    {
        "p", "div", "section", "article", "main", "header", "li", "ul", "ol", "dl", "dt", "dd",
        "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "td", "th",
        "tbody", "thead", "figure", "figcaption", "center", "hr", "address", "details",
    }
)  # fmt: skip
_COVERAGE = 0.9  # share of trafilatura's text the body container must hold
_SPACE = re.compile(r"^[\s\u3000\xa0]+|[\s\u3000\xa0]+$")


@dataclass(frozen=True)
class _Text:
    text: str
    caption_class: bool  # a <figcaption> or classed as a caption: a caption whatever its length
    centered: bool  # centred: a caption only when short
    after_image_in_block: bool = False
    orphan_caption: bool = False  # in a <figcaption> or a block named caption/credit


Block = str | PageImage


@dataclass(frozen=True)
class Body:
    blocks: tuple[Block, ...]  # paragraphs (str) and images in document order
    method: str  # "rule", "trafilatura", "density"

    @property
    def paragraphs(self) -> tuple[str, ...]:
        return tuple(b for b in self.blocks if isinstance(b, str))

    @property
    def images(self) -> tuple[PageImage, ...]:
        return tuple(b for b in self.blocks if isinstance(b, PageImage))


def _tokens(el: lxml.html.HtmlElement) -> set[str]:
    raw = f"{el.get('class') or ''} {el.get('id') or ''}"
    return {t.lower() for t in _TOKEN_SPLIT.split(raw) if t}


def _text_len(el: lxml.html.HtmlElement) -> int:
    return len(re.sub(r"\s+", "", el.text_content()))


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


def strip_chrome(tree: lxml.html.HtmlElement, rules: SiteRules) -> lxml.html.HtmlElement:
    """A copy of `tree` without site chrome (rules.drop first, then general rules)."""
    work = copy.deepcopy(tree)
    for selector in rules.drop:
        for el in _select(work, selector):
            _remove(el)
    for el in list(work.iter(lxml.etree.Comment, lxml.etree.ProcessingInstruction)):
        _remove(el)
    for el in list(work.iter(*_DROP_TAGS)):
        _remove(el)
    for el in list(work.iter()):
        if isinstance(el.tag, str) and el.tag not in ("html", "body"):
            hidden_class = bool(_HIDDEN_CLASSES & set((el.get("class") or "").split()))
            if el.get("hidden") is not None or hidden_class or _HIDDEN_STYLE.search(el.get("style") or ""):
                _remove(el)
    body = work.find("body")
    total = _text_len(body) if body is not None else 0
    for el in list(work.iter()):
        if not isinstance(el.tag, str) or el.tag in ("html", "body") or el.getparent() is None:
            continue
        tokens = _tokens(el)
        chrome = not tokens & {"content", "article", "text", "entry", "post"} and (
            bool(tokens & _CHROME_TOKENS) or any(part in t for t in tokens for part in _CHROME_PARTS)
        )
        # A <form> is a search box or comment form, unless (ASP.NET WebForms) it wraps the
        # whole page: it then goes through the same size guard as other chrome below.
        chrome = chrome or el.tag == "form"
        if chrome and el.tag != "form" and not tokens & _DISCUSSION_TOKENS and _holds_entry(el):
            chrome = False
        if not chrome and el.tag in ("div", "section", "ul", "ol", "dl", "table", "p", "span", "td"):
            head = collapse_whitespace(el.text_content()[:40])
            chrome = bool(_CHROME_LABEL.match(head))
        info = not chrome and tokens & _INFO_TOKENS and el.tag in ("div", "p", "section", "ul")
        if info and _text_len(el) < _INFO_MAX and not el.xpath(".//img"):
            _remove(el)
            continue
        if chrome:
            # Never cut away most of the page: a wrapper named "main-with-sidebar" is no sidebar.
            # A comment thread is the exception: on a busy forum it outweighs the article, but
            # a block named for comments never wraps the article itself.
            size = _text_len(el)
            if size > 600 and size > total * 0.5 and not tokens & _DISCUSSION_TOKENS:
                continue
            _remove(el)
    return work


def _is_centered(el: lxml.html.HtmlElement) -> bool:
    return bool(
        _CENTERED.search(el.get("style") or "")
        or (el.get("align") or "").lower() == "center"
        or el.tag == "center"
    )


def _caption_classed(el: lxml.html.HtmlElement) -> bool:
    classes = f"{el.get('class') or ''} {el.get('id') or ''}".lower()
    return el.tag == "figcaption" or any(t in classes for t in _CAPTION_TOKENS)


class _Walker:
    """Reads a container into text and image blocks, in document order."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.out: list[_Text | PageImage] = []
        self.buffer: list[str] = []
        self.block: lxml.html.HtmlElement | None = None
        self.image_in_block = False

    def flush(self) -> None:
        text = _SPACE.sub("", collapse_whitespace("".join(self.buffer)))
        self.buffer = []
        if text:
            block = self.block
            classed = block is not None and _caption_classed(block)
            centered = block is not None and _is_centered(block)
            named = block is not None and (
                block.tag == "figcaption"
                or any(n in (block.get("class") or "").lower() for n in _CAPTION_NAMES)
            )
            self.out.append(_Text(text, classed, centered, self.image_in_block, named))

    def walk(self, el: lxml.html.HtmlElement) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag == "img":
            image = page_image(el, self.base_url)
            if image is not None:
                self.flush()
                self.out.append(image)
                self.image_in_block = True
        elif tag == "br":
            self.flush()
        elif tag == "figure":
            self.flush()
            self._figure(el)
        elif tag in _BLOCK_TAGS:
            self.flush()
            outer, outer_image = self.block, self.image_in_block
            self.block, self.image_in_block = el, False
            if el.text:
                self.buffer.append(el.text)
            for child in el:
                self.walk(child)
            self.flush()
            self.block, self.image_in_block = outer, outer_image
        else:
            if el.text and tag:
                self.buffer.append(el.text)
            for child in el:
                self.walk(child)
        if el.tail:
            self.buffer.append(el.tail)

    def _figure(self, figure: lxml.html.HtmlElement) -> None:
        caption_el = figure.find(".//figcaption")
        caption = collapse_whitespace(caption_el.text_content()) if caption_el is not None else ""
        first = True
        for img in figure.iter("img"):
            image = page_image(img, self.base_url)
            if image is not None:
                self.out.append(replace(image, caption=caption) if first else image)
                first = False
        # A figure whose image is gone (a pixel, a video) leaves nothing: its caption
        # describes what is not there, so it is no paragraph.


def _walk(container: lxml.html.HtmlElement, base_url: str) -> list[_Text | PageImage]:
    walker = _Walker(base_url)
    if container.text:
        walker.buffer.append(container.text)
    for child in container:
        walker.walk(child)
    walker.flush()
    return walker.out


def _short(text: str) -> bool:
    return (len(text) <= 80 and not text.endswith(("。", "！", "？", ".", "!", "?"))) or len(text) <= 40


def _assemble(items: list[_Text | PageImage], title: str) -> tuple[Block, ...]:
    """Captions joined to their images, furniture lines dropped, duplicates removed."""
    blocks: list[Block] = []
    seen_images: set[str] = set()
    for item in items:
        if isinstance(item, PageImage):
            if item.src in seen_images:
                continue
            seen_images.add(item.src)
            blocks.append(item)
            continue
        text = item.text
        previous = blocks[-1] if blocks else None
        if isinstance(previous, PageImage) and not previous.caption:
            weak = item.centered or item.after_image_in_block or _CAPTION_TEXT.search(text)
            if (item.caption_class and len(text) <= 300) or (weak and _short(text)):
                blocks[-1] = replace(previous, caption=text)
                continue
        if _FURNITURE_LINE.match(text) or _CHROME_LABEL.match(text):
            continue
        if item.orphan_caption:
            # A caption whose picture is gone (a script-built gallery) describes what the
            # reader no longer sees, like a <figure> without its image: no paragraph.
            continue
        if title and text == title:
            continue
        if _is_info_line(text):
            continue  # 日期: … 来源: … 作者: … — the info line, not the article
        blocks.append(text)
    return tuple(blocks)


def _is_info_line(text: str) -> bool:
    """A short line of labels and dates: `2024年04月16日 10:20 来源：南山日报`."""
    if len(text) >= 100:
        return False
    labels = len(_INFO_LABEL.findall(text))
    dated = bool(_DATE.search(text))
    bare_date = dated and len(_DATE.sub("", text).strip(" :：-/|·")) == 0
    return labels >= 2 or (labels >= 1 and dated) or bare_date


def _link_density(el: lxml.html.HtmlElement) -> float:
    total = _text_len(el)
    if not total:
        return 1.0
    linked = sum(_text_len(a) for a in el.iter("a"))
    return linked / total


def density_container(tree: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The element whose paragraphs carry the most unlinked text (class hints help)."""
    scores: dict[lxml.html.HtmlElement, float] = {}
    for p in tree.iter("p", "br", "div", "td", "pre", "blockquote"):
        if p.tag in ("div", "td"):
            own = "".join([p.text or ""] + [c.tail or "" for c in p])
            length = len(re.sub(r"\s+", "", own))
        elif p.tag == "br":
            length = len(re.sub(r"\s+", "", p.tail or ""))
        else:
            length = _text_len(p)
        if length < 10:
            continue
        weight = length * (1.0 - min(_link_density(p), 1.0)) if p.tag != "br" else length
        parent = p if p.tag in ("div", "td") else p.getparent()
        for share, node in ((1.0, parent), (0.5, parent.getparent() if parent is not None else None)):
            if node is None or not isinstance(node.tag, str):
                continue
            scores[node] = scores.get(node, 0.0) + weight * share
    if not scores:
        return None

    def bonus(node: lxml.html.HtmlElement) -> float:
        tokens = _tokens(node)
        hinted = bool(tokens & _CONTENT_TOKENS) or node.tag in ("article", "main")
        # "footer-bottom-text" survives chrome removal (its "text" token), but it is still a
        # footer: a short article must not lose to the site's legal blurb.
        furniture = bool(tokens & _CHROME_TOKENS)
        return (1.25 if hinted else 1.0) * (0.5 if furniture else 1.0) * (1.0 - 0.7 * _link_density(node))

    return max(scores, key=lambda node: scores[node] * bonus(node))


def _trafilatura_paragraphs(tree: lxml.html.HtmlElement) -> list[tuple[str, bool]]:
    """trafilatura's paragraphs of the page, each with whether it is a heading."""
    import trafilatura

    try:
        xml = trafilatura.extract(
            lxml.html.tostring(tree, encoding="unicode"),
            output_format="xml",
            include_images=False,
            include_comments=False,
            include_tables=True,
            with_metadata=False,
            deduplicate=False,
        )
    except Exception:
        return []
    if not xml:
        return []
    doc = lxml.etree.fromstring(xml.encode("utf-8"), lxml.etree.XMLParser(recover=True))
    if doc is None:
        return []
    found = []
    for el in doc.iter("p", "head", "item", "quote", "cell"):
        text = collapse_whitespace("".join(el.itertext()))
        if len(text) >= 8:
            found.append((text, el.tag == "head"))
    return found


def trafilatura_container(
    tree: lxml.html.HtmlElement, paragraphs: list[tuple[str, bool]]
) -> lxml.html.HtmlElement | None:
    """The deepest element holding most of the text of trafilatura's paragraphs.

    Not the common ancestor of every paragraph: the headline and lead also sit in a
    "breaking news" ticker, and trafilatura keeps the odd newsletter box or teaser from the
    sidebar; one such stray match would widen the container to the whole page. Each element
    is credited with the paragraphs found inside it, weighted by their length, and the
    deepest element carrying `_COVERAGE` of the best-covered element's weight wins.
    Headings weigh nothing (unless there is nothing else): the headline and standfirst sit
    in the page's header, outside the element that holds the paragraphs.
    """
    if not paragraphs:
        return None
    weight: dict[str, int] = {}  # length of the paragraph that starts so
    only_headings = all(heading for _, heading in paragraphs)
    for text, heading in paragraphs:
        weight[text[:30]] = max(weight.get(text[:30], 0), 0 if heading and not only_headings else len(text))
    hits: dict[str, list[lxml.html.HtmlElement]] = {}
    for el in tree.iter("p", "div", "td", "li", "blockquote", "pre", "h2", "h3", "h4", "section", "span"):
        whole = collapse_whitespace(el.text_content())
        # A teaser that cuts the lead short with "…" (a "breaking news" ticker) is not the
        # paragraph, however alike their first words.
        teaser = whole.endswith(("...", "…")) and len(whole) < weight.get(whole[:30], 0)
        starts = set() if teaser else {whole[:30]}
        # Text split by <br>, not <p>: a paragraph may also start one of the element's loose
        # text runs, its own text or the tail of one of its children.
        if el.find("br") is not None:
            starts.add(collapse_whitespace(el.text or "")[:30])
            starts.update(collapse_whitespace(child.tail or "")[:30] for child in el)
        for key in starts & weight.keys():
            hits.setdefault(key, []).append(el)
    covered: dict[lxml.html.HtmlElement, float] = {}
    for key, elements in hits.items():
        # <div><p>Text…</p></div>: both start with the paragraph; only the innermost counts.
        inner = set(elements)
        for el in elements:
            inner.difference_update(el.iterancestors())
        for el in inner:
            for node in (el, *el.iterancestors()):
                covered[node] = covered.get(node, 0.0) + weight[key]
    most = max(covered.values(), default=0.0)
    if not most:
        return None
    enough = [node for node, share in covered.items() if share >= _COVERAGE * most]
    common = max(enough, key=lambda node: (sum(1 for _ in node.iterancestors()), covered[node]))
    if common.tag in ("p", "span", "li"):
        common = common.getparent()
    return common


def _body_text(el: lxml.html.HtmlElement, base_url: str) -> int:
    """Characters of paragraph-like text (furniture lines and short link labels excluded)."""
    blocks = _assemble(_walk(el, base_url), "")
    return sum(len(b) for b in blocks if isinstance(b, str) and len(b) >= 25)


def _choose(
    candidates: list[tuple[str, lxml.html.HtmlElement]], base_url: str
) -> tuple[str, lxml.html.HtmlElement]:
    """The smallest candidate that still holds (nearly) all of the body text.

    trafilatura's container is the deepest element around the paragraphs it kept; when it
    kept chrome too (table layouts) that is the whole page, and the density container
    inside it is the body. When the density container is a fragment of trafilatura's (a
    body split over two blocks), trafilatura's is the body.
    """
    if len(candidates) == 1:
        return candidates[0]
    (_, first), (_, second) = candidates
    if first is second:
        return candidates[0]
    size_first, size_second = _body_text(first, base_url), _body_text(second, base_url)
    if second in set(first.iterdescendants()):
        return candidates[1] if size_second >= 0.8 * size_first else candidates[0]
    if first in set(second.iterdescendants()):
        return candidates[0] if size_first >= 0.8 * size_second else candidates[1]
    return candidates[1] if size_second > 1.25 * size_first + 50 else candidates[0]


def extract_body(
    tree: lxml.html.HtmlElement, base_url: str, *, rules: SiteRules = NO_RULES, title: str = ""
) -> Body:
    """Paragraphs and images of the article in `tree` (which is not modified)."""
    clean = strip_chrome(tree, rules)
    if rules.body:
        matches = _select(clean, rules.body)
        if matches:
            return Body(_assemble(_walk(matches[0], base_url), title), "rule")

    candidates: list[tuple[str, lxml.html.HtmlElement]] = []
    anchor = trafilatura_container(clean, _trafilatura_paragraphs(clean))
    if anchor is not None:
        candidates.append(("trafilatura", anchor))
    dense = density_container(clean)
    if dense is not None:
        candidates.append(("density", dense))
    if not candidates:
        raise BodyError("no article body found: the page has no paragraph text")

    name, container = _choose(candidates, base_url)
    blocks = _assemble(_walk(container, base_url), title)
    if not any(isinstance(b, str) for b in blocks) and not any(isinstance(b, PageImage) for b in blocks):
        raise BodyError("no article body found: the candidate container holds no text")
    return Body(blocks, name)


def body_html(blocks: tuple[Block, ...]) -> str:
    """Unsanitised HTML of the blocks: <p> per paragraph, <figure> per image."""
    parts = []
    for block in blocks:
        if isinstance(block, str):
            parts.append(f"<p>{html.escape(block, quote=False)}</p>")
        else:
            img = f'<img src="{html.escape(block.src)}" alt="{html.escape(block.alt)}">'
            caption = (
                f"<figcaption>{html.escape(block.caption, quote=False)}</figcaption>" if block.caption else ""
            )
            parts.append(f"<figure>{img}{caption}</figure>")
    return "".join(parts)
