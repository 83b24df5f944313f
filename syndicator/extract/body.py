"""The article body: its paragraphs and images in order, read from the body container.

The data flow: chrome.py cuts site chrome from a copy of the tree; the container is the
source's `rules.body` selector, or else the better of container.py's trafilatura-located
and density-scored candidates; this module walks that container into blocks (paragraphs,
images, captions joined to their images, furniture lines dropped) and renders them as HTML.
`strip_chrome`, `density_container`, `trafilatura_container` and `BodyError` are
re-exported here so callers need only this module.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace

import lxml.html

from syndicator.models import PageImage, SiteRules
from syndicator.normalise.images import page_image
from syndicator.normalise.text import collapse_whitespace

from .chrome import _CHROME_LABEL, BodyError, _select, strip_chrome
from .container import _trafilatura_paragraphs, density_container, trafilatura_container

NO_RULES = SiteRules()  # a source without site rules

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
_INFO_LABEL = re.compile(
    r"(?:日期|时间|发布|来源|作者|编辑|点击|浏览|阅读|阅读量|字号|Posted|By|Source)\s*[:：]", re.IGNORECASE
)
_DATE = re.compile(r"\d{4}\s*[-年/.]\s*\d{1,2}\s*[-月/.]\s*\d{1,2}|\d{1,2}:\d{2}")
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
        if _FURNITURE_LINE.match(text) or _CHROME_LABEL.match(text) or _PROMO_LINE.match(text):
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


def _body_text(el: lxml.html.HtmlElement, base_url: str) -> int:
    """Characters of paragraph-like text (furniture lines and short link labels excluded)."""
    blocks = _assemble(_walk(el, base_url), "")
    return sum(len(b) for b in blocks if isinstance(b, str) and len(b) >= 25)


@dataclass(frozen=True)
class Candidate:
    """A block considered for the body: who proposed it, and the element (in the cut copy)."""

    name: str  # "rule", "trafilatura", "density"
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


def _choose(candidates: list[Candidate], base_url: str) -> tuple[Candidate, str]:
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
    size_first, size_second = _body_text(first.element, base_url), _body_text(second.element, base_url)
    sizes = f"paragraph text: trafilatura {size_first}, density {size_second} characters"
    if second.element in set(first.element.iterdescendants()):
        if size_second >= 0.8 * size_first:
            return second, f"density's block lies inside trafilatura's and holds >= 80% of its text ({sizes})"
        return first, f"density's block lies inside trafilatura's but holds < 80% of its text ({sizes})"
    if first.element in set(second.element.iterdescendants()):
        if size_first >= 0.8 * size_second:
            return first, f"trafilatura's block lies inside density's and holds >= 80% of its text ({sizes})"
        return second, f"trafilatura's block lies inside density's but holds < 80% of its text ({sizes})"
    if size_second > 1.25 * size_first + 50:
        return second, f"separate blocks; density's holds more than 1.25 x trafilatura's + 50 ({sizes})"
    return first, f"separate blocks; density's does not hold more than 1.25 x trafilatura's + 50 ({sizes})"


def choose_body(
    tree: lxml.html.HtmlElement, base_url: str, *, rules: SiteRules = NO_RULES, title: str = ""
) -> BodyChoice:
    """The candidate body blocks of `tree` (not modified), the one chosen, why, and its body."""
    clean = strip_chrome(tree, rules)
    if rules.body:
        matches = _select(clean, rules.body)
        if matches:
            rule = Candidate("rule", matches[0])
            body = Body(_assemble(_walk(matches[0], base_url), title), "rule")
            return BodyChoice(clean, (rule,), rule, f"the source's body rule {rules.body!r} matched", body)

    candidates: list[Candidate] = []
    # Furniture lines trafilatura keeps (原标题：…, 责任编辑：…) sit below the body in the
    # page's footer block; they must not pull the located container out to that block.
    located = [
        (text, heading) for text, heading in _trafilatura_paragraphs(clean) if not _FURNITURE_LINE.match(text)
    ]
    anchor = trafilatura_container(clean, located)
    if anchor is not None:
        candidates.append(Candidate("trafilatura", anchor))
    dense = density_container(clean)
    if dense is not None:
        candidates.append(Candidate("density", dense))
    if not candidates:
        return BodyChoice(clean, (), None, "no article body found: the page has no paragraph text", None)

    chosen, reason = _choose(candidates, base_url)
    blocks = _assemble(_walk(chosen.element, base_url), title)
    if not blocks:
        reason = "no article body found: the candidate container holds no text"
        return BodyChoice(clean, tuple(candidates), chosen, reason, None)
    return BodyChoice(clean, tuple(candidates), chosen, reason, Body(blocks, chosen.name))


def extract_body(
    tree: lxml.html.HtmlElement, base_url: str, *, rules: SiteRules = NO_RULES, title: str = ""
) -> Body:
    """Paragraphs and images of the article in `tree` (which is not modified)."""
    choice = choose_body(tree, base_url, rules=rules, title=title)
    if choice.body is None:
        raise BodyError(choice.reason)
    return choice.body


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
