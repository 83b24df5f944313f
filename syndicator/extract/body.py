"""The article body: its paragraphs and images in order, read from the body container.

The data flow: chrome.py cuts site chrome from a copy of the tree; the container is the
source's `rules.body` selector, or else the better of container.py's trafilatura-located
and density-scored candidates; this module walks that container into blocks (paragraphs,
images, captions joined to their images, furniture lines dropped, a data table's rows read as
lines) and renders them as HTML. General rules, in several languages, clean the ends: calls to
action ("download our app", newsletter, "as PDF") and the footer's legal-link line are dropped,
the tail of other stories after a label such as "Mehr zum Thema" or "From the archive" is cut,
and a lead paragraph between the headline and the container is put back in front. On a forum
thread (dated post blocks alike) the body is the first post, not the whole thread; an article
column that trafilatura took together with a teaser column beside it is read alone.
`strip_chrome`, `density_container`, `trafilatura_container` and `BodyError` are
re-exported here so callers need only this module.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace

import lxml.html

from syndicator.models import PageImage, SiteRules
from syndicator.normalise.images import page_image
from syndicator.normalise.text import collapse_whitespace

from .chrome import _CHROME_LABEL, _DISCUSSION_TOKENS, NO_RULES, BodyError, _select, _tokens, strip_chrome
from .container import (
    _trafilatura_paragraphs,
    density_container,
    density_scores,
    page_share,
    trafilatura_container,
)

# Lines in the body that belong to the page's furniture rather than the article.
_FURNITURE_LINE = re.compile(
    r"^(?:[(（\[【]?\s*(?:责任编辑|责编|编辑|审核|校对|来源|作者|记者|摄影|原标题)\s*[:：]\s*[^。]{0,30}[)）\]】]?"
    r"|[(（\[【]?\s*原标题\s*[:：].{0,100}"
    r"|[(（\[【]\s*(?:纠错|打印|关闭|收藏|返回顶部)\s*[)）\]】].*"
    r"|.*(?:版权所有|Copyright\s*(?:©|&copy;|\(c\))|ICP备|ICP证|备案号|All rights reserved).*)$",
    re.IGNORECASE,
)
# Promotion lines a CMS appends to (or puts above) the article: 点击进入“…”>>, 更多精彩…,
# 相关资讯请关注：…专区; and pagers (【1】【2】【3】, 上一页 1 2 下一页). Short lines only.
_PROMO_LINE = re.compile(
    r"^(?:(?:点击(?:进入|查看|阅读|这里|下载)|更多(?:精彩|资讯|内容|新闻|报道)|(?:相关|更多)\S{0,4}请关注)\S.{0,40}"
    r"|.{1,30}(?:>>|＞＞|》》|>>>)"
    r"|(?:[【\[]\d{1,3}[】\]]\s*){2,}"
    r"|(?=.*(?:上一页|下一页))(?:上一页|下一页|首页|尾页|末页|\d{1,3}|[\s/|])+)$"
)
# Calls to action a CMS puts between or after the article's paragraphs: download the app, the
# PDF, subscribe to the newsletter, follow us, scan the code. Short lines only (_CALL_MAX).
_CALL_LINE = re.compile(
    r"(?=.*\bpdf\b)(?=.*(?:download|herunterlad|speichern|save|t[ée]l[ée]charg|descarg|scaric|下载|下載))"
    r"|(?=.*\bapps?\b)"
    r"(?=.*(?:download|herunterlad|laden sie|holen sie|install|get (?:the|our)|t[ée]l[ée]charg|descarg))"
    r"|(?=.*newsletter)"
    r"(?=.*(?:abonn|anmeld|bestell|registr|sign up|signup|subscribe|inscri|suscr|iscriviti|订阅))"
    r"|^(?:folgen sie uns|follow us|suivez-nous|síguenos)\b"
    r"|下载.{0,6}(?:客户端|app)|(?:客户端|app)下载|扫码(?:下载|关注)|关注.{0,8}公众号|订阅.{0,6}(?:邮件|电子报)",
    re.IGNORECASE,
)
_CALL_MAX = 160
_CALL_KEYS = (
    "pdf",
    "app",
    "newsletter",
    "follow",
    "folgen",
    "suivez",
    "síguenos",
    "下载",
    "关注",
    "订阅",
    "客户端",
)
# The site's legal and service links, the footer line ("IMPRESSUM | DATENSCHUTZ | KONTAKT").
_SITE_LINK = re.compile(
    r"(?:impressum|datenschutz(?:erkl[äa]rung)?|kontakt|agb|nutzungsbedingungen|barrierefreiheit|cookies?"
    r"|cookie[- ](?:einstellungen|settings|policy)|imprint|privacy(?: policy| notice)?"
    r"|terms(?: of (?:use|service))?"
    r"|terms & conditions|contact(?: us)?|about(?: us)?|accessibility|site ?map|advertise|mentions l[ée]gales"
    r"|confidentialit[ée]|aviso legal|pol[íi]tica de privacidad|contacto"
    r"|关于我们|联系我们|网站地图|隐私政策|法律声明"
    r"|免责声明|广告服务|加入我们|网站声明"
    r"|log ?in|log ?out|sign (?:in|up|out)|register|registrierung|registrieren|anmelden|abmelden"
    r"|登录|注册|登入|註冊)",
    re.IGNORECASE,
)
_LINK_SEPARATOR = re.compile(r"\s*[|·•»]\s*")
# A heading that opens the tail of other stories: topic teasers, "read also", look-back lists.
_TAIL_LABEL = re.compile(
    r"^(?:mehr zu(?:m| diesem) thema|zum thema|weitere (?:artikel|meldungen|nachrichten|beitr[äa]ge)"
    r"|lesen sie (?:auch|mehr)|auch interessant|das k[öo]nnte sie (?:auch )?interessieren|r[üu]ckblick"
    r"|aus dem archiv|themen|schlagw[öo]rter|more (?:on|about) (?:this|the) (?:topic|story|subject)"
    r"|more from [^.]{1,30}|related(?: coverage| content| topics| reading)?|see also|also read|read also"
    r"|read next|further reading|topics|tags|from the archive|in case you missed it|you might also like"
    r"|recommended(?: for you)?|[àa] lire aussi|lire aussi|sur le m[êe]me sujet|voir aussi|lea tambi[ée]n"
    r"|le puede interesar|te puede interesar|noticias relacionadas|leggi anche|往期回顾|往期精彩|往期推荐"
    r"|精彩回顾|相关专题|相关话题|更多阅读|热门话题)(?:\s*[:：|]\s*.{0,50})?$",
    re.IGNORECASE,
)
_TAIL_LABEL_MAX = 60
_INFO_LABEL = re.compile(
    r"(?:日期|时间|发布|来源|作者|编辑|点击|浏览|阅读|阅读量|字号|Posted|By|Source)\s*[:：]", re.IGNORECASE
)
_DATE = re.compile(r"\d{4}\s*[-年/.]\s*\d{1,2}\s*[-月/.]\s*\d{1,2}|\d{1,2}:\d{2}")
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_NUMERIC_DAY = re.compile(r"(?<!\d)\d{1,2}[./]\d{1,2}[./](?:19|20)\d{2}(?!\d)")  # 17.03.2020, 3/17/2020
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
_CENTERED = re.compile(r"text-align\s*:\s*center", re.IGNORECASE)
_CAPTION_TEXT = re.compile(r"^(?:图为|图[:：]|图片[:：]|▲|△|↑)|(?:摄|供图|图片来源.*|资料图|视觉中国)$")
_BLOCK_TAGS = frozenset(
    {
        "p", "div", "section", "article", "main", "header", "li", "ul", "ol", "dl", "dt", "dd",
        "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "td", "th",
        "tbody", "thead", "figure", "figcaption", "center", "hr", "address", "details",
    }
)  # fmt: skip
_SPACE = re.compile(r"^[\s\u3000\xa0]+|[\s\u3000\xa0]+$")


@dataclass(frozen=True)
class _Text:
    text: str
    caption_class: bool  # a <figcaption> or classed as a caption: a caption whatever its length
    centered: bool  # centred: a caption only when short
    after_image_in_block: bool = False
    orphan_caption: bool = False  # in a <figcaption> or a block named caption/credit
    linked: float = 0.0  # share of the line's characters inside links


Block = str | PageImage


@dataclass(frozen=True)
class Body:
    blocks: tuple[Block, ...]  # paragraphs (str) and images in document order
    method: str  # "rule", "trafilatura", "density", "first-post"

    @property
    def paragraphs(self) -> tuple[str, ...]:
        return tuple(b for b in self.blocks if isinstance(b, str))

    @property
    def images(self) -> tuple[PageImage, ...]:
        return tuple(b for b in self.blocks if isinstance(b, PageImage))


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
        self.link_chars = 0  # characters of link text in the buffer

    def flush(self) -> None:
        text = _SPACE.sub("", collapse_whitespace("".join(self.buffer)))
        self.buffer = []
        linked, self.link_chars = self.link_chars, 0
        if text:
            block = self.block
            classed = block is not None and _caption_classed(block)
            centered = block is not None and _is_centered(block)
            named = block is not None and (
                block.tag == "figcaption"
                or any(n in (block.get("class") or "").lower() for n in _CAPTION_NAMES)
            )
            share = min(1.0, linked / len(text))
            self.out.append(_Text(text, classed, centered, self.image_in_block, named, share))

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
        elif tag == "tr" and _data_row(el):
            self.flush()
            self._row(el)
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
            if tag == "a":
                self.link_chars += len(collapse_whitespace(el.text_content()))
            if el.text and tag:
                self.buffer.append(el.text)
            for child in el:
                self.walk(child)
        if el.tail:
            self.buffer.append(el.tail)

    def _row(self, row: lxml.html.HtmlElement) -> None:
        """A data table's row as one line, its cells in order: `06:45 | North Quay | 07:30`."""
        cells = [collapse_whitespace(c.text_content()) for c in row if c.tag in ("td", "th")]
        text = " | ".join(c for c in cells if c)
        if text:
            linked = sum(len(collapse_whitespace(a.text_content())) for a in row.iter("a"))
            self.out.append(_Text(text, False, False, linked=min(1.0, linked / len(text))))

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


_ROW_CELL_MAX = 120  # characters of a data table's cell; longer ones are layout cells
_NOT_IN_DATA_ROW = ("p", "div", "br", "table", "ul", "ol", "img", "h1", "h2", "h3", "h4", "blockquote")


def _data_row(row: lxml.html.HtmlElement) -> bool:
    """True for a row of a data table (short cells, no blocks), as opposed to page layout.

    A layout table's cells hold the article's paragraphs, <br> runs and the navigation, each
    to be read on its own; a data table's cells only make sense read across, as one line.
    """
    cells = [c for c in row if c.tag in ("td", "th")]
    if len(cells) < 2 or next(row.iterdescendants(*_NOT_IN_DATA_ROW), None) is not None:
        return False
    return all(len(collapse_whitespace(c.text_content())) <= _ROW_CELL_MAX for c in cells)


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


def _is_call_line(text: str) -> bool:
    """A short call to action ("Download our app", "Sign up for our newsletter", "… as PDF")."""
    if len(text) > _CALL_MAX:
        return False
    low = text.lower()  # substring tests first: the regex's lookaheads are slow on every line
    return any(key in low for key in _CALL_KEYS) and bool(_CALL_LINE.search(text))


def _is_site_links(text: str) -> bool:
    """The footer's line of legal and service links, "About us · Privacy Policy · Contact",
    or the header's account links, "» Login » Registrierung"."""
    parts = [p for p in _LINK_SEPARATOR.split(text) if p]
    return (
        len(parts) >= 2
        and all(len(p) <= 30 for p in parts)
        and sum(1 for p in parts if _SITE_LINK.fullmatch(p)) >= max(2, len(parts) // 2)
    )


def _tail_start(texts: list[tuple[Block, float]]) -> int | None:
    """Where the tail of other stories begins: a label such as "Mehr zum Thema" or "From the
    archive" in the latter part of the body, followed by a list (links, short lines) rather
    than prose. Everything from there on is the site's, not the article's."""
    total = sum(len(b) for b, _ in texts if isinstance(b, str))
    before = 0
    for i, (block, _) in enumerate(texts):
        if not isinstance(block, str):
            continue
        if len(block) <= _TAIL_LABEL_MAX and _TAIL_LABEL.match(block) and before >= total / 3:
            rest = [(b, share) for b, share in texts[i + 1 :] if isinstance(b, str)]
            size = sum(len(b) for b, _ in rest)
            linked = sum(len(b) * share for b, share in rest)
            if not rest or linked >= 0.25 * size or all(len(b) < 100 for b, _ in rest):
                return i
        before += len(block)
    return None


def _assemble(items: list[_Text | PageImage], title: str) -> tuple[Block, ...]:
    """Captions joined to their images, furniture lines dropped, duplicates removed, and the
    tail of other stories (teasers, look-back lists) cut."""
    blocks: list[Block] = []
    shares: list[float] = []  # each block's link share, for finding the tail
    seen_images: set[str] = set()
    for item in items:
        if isinstance(item, PageImage):
            if item.src in seen_images:
                continue
            seen_images.add(item.src)
            blocks.append(item)
            shares.append(0.0)
            continue
        text = item.text
        previous = blocks[-1] if blocks else None
        if isinstance(previous, PageImage) and not previous.caption:
            weak = item.centered or item.after_image_in_block or _CAPTION_TEXT.search(text)
            if (item.caption_class and len(text) <= 300) or (weak and _short(text)):
                blocks[-1] = replace(previous, caption=text)
                continue
        if _FURNITURE_LINE.match(text) or _CHROME_LABEL.match(text) or _PROMO_LINE.match(text):
            continue
        if _is_call_line(text) or _is_site_links(text):
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
        shares.append(item.linked)
    cut = _tail_start(list(zip(blocks, shares, strict=True)))
    return tuple(blocks if cut is None else blocks[:cut])


def _is_info_line(text: str) -> bool:
    """A short line of labels and dates: `2024年04月16日 10:20 来源：南山日报`."""
    if len(text) >= 100:
        return False
    labels = len(_INFO_LABEL.findall(text))
    dated = bool(_DATE.search(text))
    bare_date = dated and len(_DATE.sub("", text).strip(" :：-/|·")) == 0
    return labels >= 2 or (labels >= 1 and dated) or bare_date


def _body_text(el: lxml.html.HtmlElement, base_url: str) -> int:
    """Characters of paragraph-like text (furniture lines and short link labels excluded)."""
    return _paragraph_chars(_walk(el, base_url))


def _paragraph_chars(items: list[_Text | PageImage]) -> int:
    """`_body_text` of a block already walked."""
    blocks = _assemble(items, "")
    return sum(len(b) for b in blocks if isinstance(b, str) and len(b) >= 25)


@dataclass(frozen=True)
class Candidate:
    """A block considered for the body: who proposed it, and the element (in the cut copy)."""

    name: str  # "rule", "trafilatura", "density", "first-post"
    element: lxml.html.HtmlElement


@dataclass(frozen=True)
class BodyChoice:
    """What the body step weighed and decided: `extract_body` returns its `body`, and
    `syndicator extract --explain` prints the rest, so the two cannot disagree."""

    clean: lxml.html.HtmlElement  # the page with its chrome cut (what the candidates live in)
    candidates: tuple[Candidate, ...]
    chosen: Candidate | None
    reason: str  # why the chosen one won, or why there is no body
    body: Body | None  # None when there is no body; `reason` says why


_TEASER_LINKED = 0.3  # link share of the outer block's other lines that makes them teasers
_TEASER_PROSE = 0.3  # at most this share of them in long unlinked lines (prose)
_PROSE_LINE = 150


def _teasers_beside(outer: list[_Text | PageImage], inner: list[_Text | PageImage]) -> bool:
    """True when what `outer` holds beside `inner` (its lines not among inner's) reads as a
    column of teasers: a third or more of its characters in links, and little of it in long
    unlinked lines. A news page's article column sits beside such a column ("Banking / India
    needs reforms … Full Article") in one row that trafilatura takes whole."""
    inner_lines = Counter(item.text for item in inner if isinstance(item, _Text))
    rest = []
    for item in outer:
        if not isinstance(item, _Text):
            continue
        if inner_lines[item.text] > 0:
            inner_lines[item.text] -= 1
        else:
            rest.append(item)
    size = sum(len(item.text) for item in rest)
    if not size:
        return False
    linked = sum(len(item.text) * item.linked for item in rest)
    prose = sum(len(item.text) for item in rest if len(item.text) >= _PROSE_LINE and item.linked < 0.2)
    return linked >= _TEASER_LINKED * size and prose <= _TEASER_PROSE * size


def _choose(
    candidates: list[Candidate], read: Callable[[lxml.html.HtmlElement], list[_Text | PageImage]]
) -> tuple[Candidate, str]:
    """The smallest candidate that still holds (nearly) all of the body text, and why.

    trafilatura's container is the deepest element around the paragraphs it kept; when it
    kept chrome too (table layouts) that is the whole page, and the density container
    inside it is the body. When the density container is a fragment of trafilatura's (a
    body split over two blocks), trafilatura's is the body.
    """
    if len(candidates) == 1:
        return candidates[0], f"the only candidate: {candidates[0].name} (the other method found no block)"
    first, second = candidates
    if first.element is second.element:
        return first, "trafilatura and density chose the same element"
    size_first, size_second = _paragraph_chars(read(first.element)), _paragraph_chars(read(second.element))
    sizes = f"paragraph text: trafilatura {size_first}, density {size_second} characters"
    if second.element in set(first.element.iterdescendants()):
        if size_second >= 0.8 * size_first:
            return second, f"density's block lies inside trafilatura's and holds >= 80% of its text ({sizes})"
        if _teasers_beside(read(first.element), read(second.element)):
            return second, (
                f"density's block lies inside trafilatura's and holds < 80% of its text ({sizes}),"
                " but the rest is teasers (links and short lines)"
            )
        return first, f"density's block lies inside trafilatura's but holds < 80% of its text ({sizes})"
    if first.element in set(second.element.iterdescendants()):
        if size_first >= 0.8 * size_second:
            return first, f"trafilatura's block lies inside density's and holds >= 80% of its text ({sizes})"
        return second, f"trafilatura's block lies inside density's but holds < 80% of its text ({sizes})"
    if size_second > 1.25 * size_first + 50:
        return second, f"separate blocks; density's holds more than 1.25 x trafilatura's + 50 ({sizes})"
    return first, f"separate blocks; density's does not hold more than 1.25 x trafilatura's + 50 ({sizes})"


# When the density block holds this share of the page's text (chrome cut), trafilatura is not
# asked: of 339 page files with a density block (dev1, dev2, the test fixtures, and the test
# pages of newspaper, GNE, htmltotext-benchmark and article-extractor's ftr set, none of them
# held-out pages), the 226 at or above 0.7 came out with the very same body either way; the
# closest page where trafilatura changed the body held 0.59. Most article pages take this
# shortcut, and it is most of what makes extraction faster than trafilatura alone.
_DENSITY_HOLDS_PAGE = 0.7
_THREAD_POSTS = 3  # dated post blocks alike that make a page a forum thread


def _dated_header(box: lxml.html.HtmlElement, post: lxml.html.HtmlElement) -> bool:
    """True when the post's box, outside the post itself, states a year and a time or a
    numeric date: the header a forum puts over each post ("17.03.2020, 21:30", "Sun Sep 01,
    2019 8:05 pm"), with or without a class that says so."""
    inside = set(post.iter())
    parts = []
    for el in box.iter():
        if el in inside and el is not post:
            continue  # the post's own text: a date in it is what the post is about
        if el is not post and isinstance(el.tag, str) and el.tag not in ("script", "style") and el.text:
            parts.append(el.text)
        if el is not box and el.tail:
            parts.append(el.tail)
    text = " ".join(parts)
    return bool(_YEAR.search(text) and (_DATE.search(text) or _NUMERIC_DAY.search(text)))


def _post_boxes(posts: list[lxml.html.HtmlElement]) -> dict[lxml.html.HtmlElement, lxml.html.HtmlElement]:
    """Each post's box (its highest ancestor holding no other post) -> the post."""
    holding: dict[lxml.html.HtmlElement, int] = {}  # ancestor -> posts under it
    for post in posts:
        for anc in post.iterancestors():
            holding[anc] = holding.get(anc, 0) + 1
    box_of: dict[lxml.html.HtmlElement, lxml.html.HtmlElement] = {}
    for post in posts:
        box = post
        for anc in post.iterancestors():
            if holding[anc] > 1:
                break
            box = anc
        box_of[box] = post
    return box_of


_PROSE_PIECE = 40  # characters of one text run that make it prose rather than a label
_ARTICLE_ABOVE = 300  # characters of prose above the first post that make it an article's notes


def _prose_before(clean: lxml.html.HtmlElement, box: lxml.html.HtmlElement) -> int:
    """Characters of unlinked prose runs in the page's body (chrome cut) before `box` begins."""
    total = 0
    for el in clean.find("body").iter():
        if el is box:
            break
        if not isinstance(el.tag, str) or el.tag in ("script", "style"):
            continue
        for part in (el.text if el.tag != "a" else None, el.tail):
            if part and len(part.strip()) >= _PROSE_PIECE:
                total += len(part.strip())
    return total


def _first_post(
    tree: lxml.html.HtmlElement, clean: lxml.html.HtmlElement, dense: lxml.html.HtmlElement
) -> lxml.html.HtmlElement | None:
    """The opening post of a forum thread (in `clean`), when the densest block is one of its
    posts; else None.

    A thread page is several post blocks alike (same tag and class, under parents alike), each
    in a box of its own with a dated header (author, "June 03, 2020, 04:19:36 PM"). Read whole,
    it is every reply, quote and signature; trafilatura keeps the whole table and the densest
    block is whichever post is longest. The thread's subject, the one the title and the date
    (dates.py's first post) name, is its first post. A box is the highest ancestor of a post
    holding no other post. The headers are looked for in the page as parsed (`tree`): chrome
    cutting drops info-classed blocks, post headers among them. Blocks named for comments, or
    posts below more prose than the first post holds (at least `_ARTICLE_ABOVE` characters),
    are an article's discussion: the article is above them, and the usual choice stands.
    """
    parent = dense.getparent()
    if parent is None or _tokens(dense) & _DISCUSSION_TOKENS:
        return None
    shape = (dense.get("class"), parent.tag, parent.get("class"))

    def alike(root: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
        return [
            el
            for el in root.iter(dense.tag)
            if (el.get("class"), el.getparent().tag, el.getparent().get("class")) == shape
        ]

    cut_posts = alike(clean)
    if len(cut_posts) < _THREAD_POSTS:
        return None
    posts = alike(tree)
    box_of = _post_boxes(posts)
    dated = [post for box, post in box_of.items() if _dated_header(box, post)]
    if posts[0] not in dated or len(dated) < _THREAD_POSTS:
        return None
    first_box = next(box for box, post in _post_boxes(cut_posts).items() if post is cut_posts[0])
    if _prose_before(clean, first_box) >= max(_ARTICLE_ABOVE, len(cut_posts[0].text_content())):
        return None  # an article above its readers' notes: the notes are no thread of their own
    # The same post in the cut copy: the first alike there, holding the same text.
    return cut_posts[0] if cut_posts[0].text_content() == posts[0].text_content() else None


def choose_body(
    tree: lxml.html.HtmlElement, base_url: str, *, rules: SiteRules = NO_RULES, title: str = ""
) -> BodyChoice:
    """The candidate body blocks of `tree` (not modified), the one chosen, why, and its body."""
    clean = strip_chrome(tree, rules)
    if rules.body:
        matches = _select(clean, rules.body)
        if matches:
            blocks = _assemble(_walk(matches[0], base_url), title)
            if blocks:
                rule = Candidate("rule", matches[0])
                reason = f"the source's body rule {rules.body!r} matched"
                return BodyChoice(clean, (rule,), rule, reason, Body(blocks, "rule"))
            # The rule's element is empty (the site moved its text): read the page as if
            # there were no rule, and the caller warns that the rule found nothing.

    walked: dict[lxml.html.HtmlElement, list[_Text | PageImage]] = {}

    def read(el: lxml.html.HtmlElement) -> list[_Text | PageImage]:
        """A candidate walked once: the size comparison and the body read the same blocks."""
        if el not in walked:
            walked[el] = _walk(el, base_url)
        return walked[el]

    scores = density_scores(clean)
    dense = density_container(clean, scores)
    share = page_share(clean, dense) if scores and dense is not None else 0.0
    if dense is not None and share >= _DENSITY_HOLDS_PAGE:
        chosen = Candidate("density", dense)
        candidates = [chosen]
        reason = (
            f"density's block holds {share:.0%} of the page's text (>= {_DENSITY_HOLDS_PAGE:.0%}):"
            " the article has nowhere else to be, so trafilatura was not asked"
        )
    elif dense is not None and (first := _first_post(tree, clean, dense)) is not None:
        chosen = Candidate("first-post", first)
        candidates = [chosen, Candidate("density", dense)]
        reason = (
            f"density's block is one of {_THREAD_POSTS} or more dated posts alike (a forum thread):"
            " the body is the first post (trafilatura's block would be the whole thread: not read)"
        )
    else:
        candidates = []
        # Furniture lines trafilatura keeps (原标题：…, 责任编辑：…) sit below the body in the
        # page's footer block; they must not pull the located container out to that block.
        located = [
            (text, heading)
            for text, heading in _trafilatura_paragraphs(clean)
            if not _FURNITURE_LINE.match(text)
        ]
        anchor = trafilatura_container(clean, located)
        if anchor is not None:
            candidates.append(Candidate("trafilatura", anchor))
        if dense is not None:
            candidates.append(Candidate("density", dense))
        if not candidates:
            reason = (
                "no article body found: the page has no text outside navigation, scripts and hidden parts"
            )
            return BodyChoice(clean, (), None, reason, None)
        chosen, reason = _choose(candidates, read)
    blocks = _assemble(read(chosen.element), title)
    if not blocks:
        reason = (
            "no article body found: the page's text is only furniture"
            " (its title, info lines, links or labels)"
        )
        return BodyChoice(clean, tuple(candidates), chosen, reason, None)
    slides = _earlier_slides(clean, chosen.element, title, base_url, blocks)
    if slides:
        reason += f"; the slideshow's earlier slide(s) above it put back in front ({len(slides)} block(s))"
    lead = _lead(clean, chosen.element, title, base_url, slides + blocks, _descriptions(tree))
    if lead:  # said, so that --explain accounts for every paragraph of the body
        reason += f"; {len(lead)} lead paragraph(s) between the headline and it put back in front"
    return BodyChoice(clean, tuple(candidates), chosen, reason, Body(lead + slides + blocks, chosen.name))


def extract_body(
    tree: lxml.html.HtmlElement, base_url: str, *, rules: SiteRules = NO_RULES, title: str = ""
) -> Body:
    """Paragraphs and images of the article in `tree` (which is not modified)."""
    choice = choose_body(tree, base_url, rules=rules, title=title)
    if choice.body is None:
        raise BodyError(choice.reason)
    return choice.body


_LEAD_MAX_BLOCKS = 3
# A slideshow's counter opening its caption: "1 of 4.", "2 von 9", "3/12", "第1张".
_SLIDE = re.compile(r"^(?:\d{1,3}\s*(?:of|von|de|di|/)\s*\d{1,3}\b|第\s*\d{1,3}\s*张)", re.IGNORECASE)


# The counter's numbers: "2 of 6" is slide 2 of a show of 6.
_SLIDE_NUMBER = re.compile(r"^(\d{1,3})\s*(?:of|von|de|di|/)\s*(\d{1,3})\b", re.IGNORECASE)


def _headline_element(clean: lxml.html.HtmlElement, title: str) -> lxml.html.HtmlElement | None:
    return next(
        (h for h in clean.iter("h1", "h2") if collapse_whitespace(h.text_content()) == title),
        None,
    )


def _between(
    clean: lxml.html.HtmlElement, heading: lxml.html.HtmlElement, container: lxml.html.HtmlElement
) -> list[lxml.html.HtmlElement]:
    """The outermost elements after `heading` and before `container`, in page order, that
    neither enclose the container nor sit inside the heading."""
    between: list[lxml.html.HtmlElement] = []
    covered = {heading}  # the headline, the elements in `between`, and what they hold
    enclosing = set(container.iterancestors())
    started = False
    for el in clean.iter():
        if el is heading:
            started = True
        elif el is container:
            break
        elif started and el.getparent() in covered:
            covered.add(el)
        elif started and el not in enclosing and isinstance(el.tag, str):
            covered.add(el)
            between.append(el)
    return between


def _earlier_slides(
    clean: lxml.html.HtmlElement,
    container: lxml.html.HtmlElement,
    title: str,
    base_url: str,
    blocks: tuple[Block, ...],
) -> tuple[Block, ...]:
    """A slideshow's first slide(s), which the body container missed.

    Gallery articles show the current slide in a stage of its own under the headline and
    queue the others in another block; the queue holds more text, so it is the container,
    and the body would open at "2 of 6". When the body's first line is such a counter past
    1, an element between the headline and the container whose counter names an earlier
    slide of the same show (same total) is that slide: it is read whole, picture, heading
    and text, as the container's slides are. (The lead's rules would drop its text as the
    picture's caption.)
    """
    first = next((b for b in blocks if isinstance(b, str)), "")
    shown = _SLIDE_NUMBER.match(first)
    heading = _headline_element(clean, title) if title and shown and int(shown[1]) > 1 else None
    if shown is None or heading is None or heading is container or container in set(heading.iterancestors()):
        return ()
    slides: list[Block] = []
    for el in _between(clean, heading, container):
        items = _walk_one(el, base_url)
        for item in items:
            number = _SLIDE_NUMBER.match(item.text) if isinstance(item, _Text) else None
            if number and number[2] == shown[2] and int(number[1]) < int(shown[1]):
                slides += _assemble(items, title)
                break
    return tuple(slides)


def _lead(
    clean: lxml.html.HtmlElement,
    container: lxml.html.HtmlElement,
    title: str,
    base_url: str,
    blocks: tuple[Block, ...],
    summaries: set[str],
) -> tuple[Block, ...]:
    """The lead paragraphs between the headline and the body container, which it missed.

    News pages put the standfirst in its own block under the headline (`<div class="intro">`),
    outside the element that holds the other paragraphs. What sits between the headline and
    the container, once chrome is cut, is the article's start when it reads as prose: long,
    unlinked lines that are no info line or call to action. Without a headline element to
    anchor the position, nothing is added. A standfirst the page's description repeats (its
    meta description, or the start of it when the description is cut short) is the summary
    written for listings and shares, not the article's start: of nine dev pages whose lead was
    put back, the six whose lead the description repeats were all labelled without it (of the
    three others, one was labelled with its lead).
    """
    if not title:
        return ()
    heading = _headline_element(clean, title)
    if heading is None or heading is container or container in set(heading.iterancestors()):
        return ()  # no headline, or it is inside the container: the start is already read
    between = _between(clean, heading, container)
    known = {b for b in blocks if isinstance(b, str)}
    lead: list[Block] = []
    after_image = False  # the standfirst sits above the lead picture; what follows it is caption
    for el in between:
        # A second headline (a kicker, a dek set as <h2>) is no paragraph; a block named for
        # captions, or text after a picture, describes the picture (a slideshow's caption).
        if el.tag in ("h1", "h2", "h3", "h4", "h5", "h6") or _caption_classed(el):
            continue
        for item in _walk_one(el, base_url):
            if isinstance(item, PageImage):
                after_image = True
                continue
            if item.text in known or item.linked > 0.2 or after_image or item.caption_class:
                continue
            text = item.text
            if (
                _short(text)
                or len(text) < 50
                or _is_call_line(text)
                or _is_info_line(text)
                or _SLIDE.match(text)
            ):
                continue
            if _FURNITURE_LINE.match(text) or _CHROME_LABEL.match(text) or _PROMO_LINE.match(text):
                continue
            if any(text.startswith(summary) for summary in summaries):
                continue  # the standfirst
            lead.append(text)
    return tuple(lead[:_LEAD_MAX_BLOCKS]) if len(lead) <= _LEAD_MAX_BLOCKS else ()


_DESCRIPTION_MIN = 20  # characters: a shorter description ("News") says nothing about a line
_DESCRIPTION_NAMES = ("description", "og:description", "twitter:description")


def _descriptions(tree: lxml.html.HtmlElement) -> set[str]:
    """The page's meta descriptions, whitespace collapsed and a cut-off end ("…", "...")
    trimmed. Read in the page as parsed: chrome cutting drops the <head>."""
    found = set()
    for meta in tree.iter("meta"):
        if (meta.get("name") or meta.get("property") or "").lower() in _DESCRIPTION_NAMES:
            summary = collapse_whitespace(meta.get("content") or "").rstrip(" .…")
            if len(summary) >= _DESCRIPTION_MIN:
                found.add(summary)
    return found


def _walk_one(el: lxml.html.HtmlElement, base_url: str) -> list[_Text | PageImage]:
    """`el` itself read as blocks (its tail, which belongs to its parent, left out)."""
    walker = _Walker(base_url)
    tail, el.tail = el.tail, None
    try:
        walker.walk(el)
    finally:
        el.tail = tail
    walker.flush()
    return walker.out


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
