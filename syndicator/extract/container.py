"""Which element holds the article body, when no site rule names it.

Two candidates: the element that holds the paragraphs trafilatura extracted (trafilatura is
good at telling body text from boilerplate, but loses lazy images and turns captions into
paragraphs, so we use it to *locate* the body and read the body ourselves); and our own
density score (the element whose <p> children carry the most unlinked text, helped by
content/article/正文 class hints) for pages where trafilatura finds nothing or much less.
Choosing between them needs the body read from each, which body.py does. trafilatura is
most of that cost, so it is only asked when the density block leaves room for doubt
(`page_share`: the block holds less than most of the page's text).
"""

from __future__ import annotations

from dataclasses import dataclass

import lxml.etree
import lxml.html

from syndicator.normalise.text import collapse_whitespace

from .chrome import _CHROME_TOKENS, _text_len, _tokens

_CONTENT_TOKENS = frozenset(
    {
        "content", "article", "post", "entry", "main", "text", "detail", "details", "body",
        "story", "zhengwen", "neirong", "wenzhang", "txt", "con", "cont", "artical", "news",
    }
)  # fmt: skip
_COVERAGE = 0.9  # share of trafilatura's text the body container must hold


# Inline elements whose text is the block's own: `<div><span>text</span></div>` and
# `<td><font>text</font><br>…</td>` are paragraphs without <p> on old and builder-made pages.
_INLINE = frozenset(
    {
        "span", "font", "b", "strong", "em", "i", "u", "small", "big", "sup", "sub", "abbr",
        "cite", "q", "mark", "s", "strike", "tt", "code", "time", "label",
    }
)  # fmt: skip


def _own_text(el: lxml.html.HtmlElement) -> str:
    """The text of `el` outside its block children (links excluded: they are not prose)."""
    parts = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str) and child.tag in _INLINE:
            parts.append(child.text_content())
        parts.append(child.tail or "")
    return "".join(parts)


def _link_density(el: lxml.html.HtmlElement) -> float:
    total = _text_len(el)
    if not total:
        return 1.0
    linked = sum(_text_len(a) for a in el.iter("a"))
    return linked / total


@dataclass(frozen=True)
class DensityScore:
    """One element's density score and the features behind it (what `--explain` shows)."""

    raw: float  # unlinked paragraph text credited to it (its own, plus half its children's)
    hinted: bool  # content/article/正文-like class or id, or <article>/<main>: × 1.25
    furniture: bool  # a chrome token (footer, sidebar…) survived in its class or id: × 0.5
    link_density: float  # linked share of its text: × (1 − 0.7 × link density)

    @property
    def score(self) -> float:
        bonus = (
            (1.25 if self.hinted else 1.0)
            * (0.5 if self.furniture else 1.0)
            * (1.0 - 0.7 * self.link_density)
        )
        return self.raw * bonus


def density_scores(tree: lxml.html.HtmlElement) -> dict[lxml.html.HtmlElement, DensityScore]:
    """Every element credited with paragraph text, with its density score's features.

    The element whose paragraphs carry the most unlinked text wins (class hints help);
    `density_container` takes the best, and `--explain` shows the runners-up, from the same
    scores, so what it prints is what extraction weighed.
    """
    raw: dict[lxml.html.HtmlElement, float] = {}
    for p in tree.iter("p", "br", "div", "td", "pre", "blockquote"):
        if p.tag in ("div", "td"):
            length = sum(map(len, _own_text(p).split()))  # non-whitespace characters
        elif p.tag == "br":
            length = sum(map(len, (p.tail or "").split()))
        else:
            length = _text_len(p)
        if length < 10:
            continue
        weight = length * (1.0 - min(_link_density(p), 1.0)) if p.tag != "br" else length
        # A <div>/<td> with text of its own is a paragraph and may be the container itself
        # (`<td>text<br>text</td>`); a run of such <div>s is held by their parent, like <p>s.
        parent = p.getparent()
        if p.tag in ("div", "td"):
            credited = ((1.0, p), (1.0, parent), (0.5, parent.getparent() if parent is not None else None))
        else:
            credited = ((1.0, parent), (0.5, parent.getparent() if parent is not None else None))
        for share, node in credited:
            if node is None or not isinstance(node.tag, str):
                continue
            raw[node] = raw.get(node, 0.0) + weight * share

    def features(node: lxml.html.HtmlElement, value: float) -> DensityScore:
        tokens = _tokens(node)
        hinted = bool(tokens & _CONTENT_TOKENS) or node.tag in ("article", "main")
        # "footer-bottom-text" survives chrome removal (its "text" token), but it is still a
        # footer: a short article must not lose to the site's legal blurb.
        furniture = bool(tokens & _CHROME_TOKENS)
        return DensityScore(value, hinted, furniture, _link_density(node))

    return {node: features(node, value) for node, value in raw.items()}


def density_container(
    tree: lxml.html.HtmlElement, scores: dict[lxml.html.HtmlElement, DensityScore] | None = None
) -> lxml.html.HtmlElement | None:
    """The element whose paragraphs carry the most unlinked text (class hints help).

    `scores` are `density_scores(tree)` when the caller has them already."""
    if scores is None:
        scores = density_scores(tree)
    if not scores:
        # No block carries ten characters of its own (the text sits straight in <body>, or
        # in <li>/<h*> only): the page's body is the one candidate, so text is never lost.
        body = tree.find("body")
        return body if body is not None and _text_len(body) else None
    return max(scores, key=lambda node: scores[node].score)


def page_share(tree: lxml.html.HtmlElement, element: lxml.html.HtmlElement) -> float:
    """The share of the page's text (non-whitespace characters under <body>) inside `element`."""
    body = tree.find("body")
    total = _text_len(body) if body is not None else 0
    return _text_len(element) / total if total else 0.0


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
            # An element holds no more of a paragraph than its own text: the headline <h3>
            # shares its first words with a paragraph trafilatura glued from the whole
            # column, but it is not where that paragraph's text lives.
            credit = min(weight[key], len(collapse_whitespace(el.text_content())))
            for node in (el, *el.iterancestors()):
                covered[node] = covered.get(node, 0.0) + credit
    most = max(covered.values(), default=0.0)
    if not most:
        return None
    enough = [node for node, share in covered.items() if share >= _COVERAGE * most]
    common = max(enough, key=lambda node: (sum(1 for _ in node.iterancestors()), covered[node]))
    if common.tag in ("p", "span", "li"):
        common = common.getparent()
    return common
