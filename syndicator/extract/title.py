"""The article's headline, without the site name that <title> and og:title append.

Sources, most specific first: the `rules.title` selector; an <h1> whose text <title>
starts with (the page's own headline, confirmed by the document title) — unless it stands in
a <nav> (a sticky bar's short social title) and the <article>'s own heading is the one the
JSON-LD headline or og:title states, which then wins without its kicker; a headline block
named "title"; a visible heading that <title> holds as a whole segment after a short
prefix (`ᐅ Headline`, `Kicker: Headline - Site`, `Blog » Archive » Headline`); the <h1>
og:title or the JSON-LD headline repeats word for word; a heading equal to og:title up to
case and punctuation (the visible spelling wins); a lone <h1> whose
words all stand in <title>; og:title or the JSON-LD headline; <title>; any lone <h1>.
Whatever is chosen loses a trailing (or leading) site-name segment: `headline_智汇八方`,
`headline - Site`, `headline | Section | Site`, recognised because it equals
og:site_name, or because it is what remains of <title> after the confirmed headline.

A heading that names the site is never the headline: one equal to og:site_name, or one
that is wholly a link to the site's home or to a page above this one (a blog's <h1> over
its posts, a forum's logo). When <title> and og:title say nothing but the site's name (a
forum's thread pages), the first other heading stands in; a bar of short links
(`推荐 我要说说`) is a toolbar, not a heading.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urljoin, urlsplit

import lxml.etree
import lxml.html
from lxml.cssselect import CSSSelector

from syndicator.models import SiteRules
from syndicator.normalise.text import clean_title, collapse_whitespace

from .chrome import NO_RULES

# After a confirmed headline any separator will do, a bare hyphen included (`标题-栏目-站名`).
_SUFFIX_START = re.compile(r"\s*[-_|｜–—:：·»]")
_TITLE_CLASS = re.compile(r"title|headline|biaoti", re.IGNORECASE)
_SEPARATORS = re.compile(r"(\s*(?:[_|｜–—]|\s-\s|-{2,}|::|»)\s*)")


def _text(el: lxml.html.HtmlElement) -> str:
    return clean_title(collapse_whitespace(el.text_content()))


def _meta(tree: lxml.html.HtmlElement, *names: str) -> str:
    for name in names:
        for el in tree.xpath(f"//meta[@property='{name}' or @name='{name}']"):
            value = clean_title(el.get("content") or "")
            if value:
                return value
    return ""


def _jsonld_headline(objects: list[dict]) -> str:
    for obj in objects:
        kind = obj.get("@type")
        kinds = kind if isinstance(kind, list) else [kind]
        if any(isinstance(k, str) and k.endswith(("Article", "Posting", "Report")) for k in kinds):
            headline = obj.get("headline") or obj.get("name")
            if isinstance(headline, str) and headline.strip():
                return clean_title(headline)
    return ""


def _strip_site(title: str, site_names: set[str]) -> str:
    """`title` without trailing/leading segments that are a site or section name.

    A segment goes when it equals a known name, or when it is short (≤ 20 characters) and
    what remains is at least twice as long: `headline_栏目_站名`, `Headline - BBC News`.
    """
    pieces = _SEPARATORS.split(title)  # [text, sep, text, sep, text …]
    names = {n.casefold() for n in site_names if n}

    def removable(part: str, rest: list[str]) -> bool:
        kept = "".join(rest)
        return part.casefold() in names or (len(part) <= 20 and len(kept) >= 2 * len(part))

    while len(pieces) >= 3 and removable(pieces[-1], pieces[:-2]):
        pieces = pieces[:-2]
    while len(pieces) >= 3 and pieces[0].casefold() in names:
        pieces = pieces[2:]
    return "".join(pieces).strip() or title


def _select(tree: lxml.html.HtmlElement, selector: str) -> list[lxml.html.HtmlElement]:
    try:
        return CSSSelector(selector)(tree)
    except Exception as exc:
        raise ValueError(f"title rule selector {selector!r} is not valid CSS: {exc}") from exc


# What may stand before a headline inside <title>: a separator, or a bare space.
_PREFIX_END = re.compile(r"(?:[-_|｜–—:：·»>/]|\s)\s*$")
_REAL_PREFIX_END = re.compile(r"[-_|｜–—:：·»>/]\s*$")
_HEADING_TAGS = ("h1", "h2", "h3")
# Query parameters that only track a visit: a link without them still points at this page.
_TRACKING = re.compile(r"^(?:utm_\w+|fbclid|gclid|mc_\w+|ref|from|s|sid|share)$", re.IGNORECASE)
_INDEX_FILE = re.compile(r"(?:index|default|home|forum)\.\w+$", re.IGNORECASE)
_LINK_BAR_LINK = 8  # a toolbar's links are a word or two each: `推荐`, `我要说说`, `Share`


def _letters(text: str) -> str:
    """The letters and digits of `text`, casefolded: `iPhone-Hülle` and `Iphonehülle` agree."""
    return re.sub(r"[\W_]+", "", text.casefold())


def _word_list(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def _words(text: str) -> set[str]:
    return set(_word_list(text))


def _page_query(query: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in parse_qsl(query) if not _TRACKING.match(k)]


def _host(netloc: str) -> str:
    return netloc.lower().removeprefix("www.")


def _named_title(el: lxml.html.HtmlElement) -> bool:
    """A block whose class or id names it the title or headline (`div.h-title`, `#biaoti`)."""
    return bool(_TITLE_CLASS.search(f"{el.get('class') or ''} {el.get('id') or ''}"))


def _links_above(href: str, url: str) -> bool:
    """`href` points at the site's home or at a page above `url` (a blog's index), not at it.

    `/blog/` above `/blog/?p=4916` and `/index.php` above `/forum/viewtopic.php?t=1` count;
    the page's own permalink (tracking parameters aside) does not.
    """
    target = urlsplit(urljoin(url, href.strip()) if url else href.strip())
    page = urlsplit(url)
    if target.scheme not in ("", "http", "https") or (not target.path and not target.netloc):
        return False  # mailto:, javascript:, a bare #fragment
    if url and target.netloc and _host(target.netloc) != _host(page.netloc):
        return False
    if _page_query(target.query):
        return False
    path = _INDEX_FILE.sub("", target.path) or "/"
    if not url:
        return path in ("/", "./", "")
    if not path.endswith("/") or not page.path.startswith(path):
        return False
    return page.path != path or bool(_page_query(page.query))


def _names_site(el: lxml.html.HtmlElement, text: str, names: set[str], url: str) -> bool:
    """`el` (a heading) names the site: it is og:site_name, or wholly a link home/upwards."""
    if text.casefold() in names:
        return True
    links = [a for a in el.iterancestors("a")] + [a for a in el.iter("a") if _text(a) == text]
    return any(a.get("href") and _links_above(a.get("href") or "", url) for a in links)


def _link_bar(el: lxml.html.HtmlElement, text: str) -> bool:
    """Two or more short links making up `el`'s text: a toolbar (`推荐 我要说说`), not a heading."""
    links = [t for a in el.iter("a") if (t := _text(a))]
    linked = sum(len(t) for t in links)
    return (
        len(links) >= 2
        and all(len(t) <= _LINK_BAR_LINK for t in links)
        and linked * 5 >= 4 * len(text.replace(" ", ""))
    )


def _stands_in(el: lxml.html.HtmlElement, text: str) -> bool:
    """`el` may stand in for a missing headline: an h1/h2 or a block named title, not a
    toolbar, nor in an aside, nav or footer."""
    if not (el.tag in ("h1", "h2") or _named_title(el)) or len(text) < 4 or _link_bar(el, text):
        return False
    return not any(anc.tag in ("aside", "nav", "footer") for anc in el.iterancestors())


def _held_after_prefix(title: str, text: str) -> bool:
    """<title> holds `text` as a whole segment after a short prefix (and maybe before a suffix).

    `ᐅ Headline`, `Forum Headline`, `Blog » Archive » Headline`, `Kicker: Headline - Site`.
    The prefix is a kicker, a category or the site's name: no longer than the headline (a
    bare-space one at most 20 characters), else `text` is the site name after the headline.
    With a suffix as well the headline must be at least half of <title>, so that the middle
    segment of `Site - Section - Headline` does not pass.
    """
    if len(text) < 4:
        return False
    at = title.find(text, 1)
    if at < 0:
        return False
    before, after = title[:at], title[at + len(text) :]
    if after and not _SUFFIX_START.match(after):
        return False
    if not _PREFIX_END.search(before):
        return False
    prefix = before.strip()
    if len(prefix) > len(text):
        return False
    if not _REAL_PREFIX_END.search(before) and len(prefix) > 20:
        return False
    return not after or 2 * len(text) >= len(title)


def _leading_site_segments(title: str, names: set[str]) -> str:
    """`title` without its leading segments that name the site (`Blog » Archive » Post` → …)."""
    pieces = _SEPARATORS.split(title)
    while len(pieces) >= 3 and pieces[0].strip().casefold() in names:
        pieces = pieces[2:]
    return "".join(pieces).strip()


def _in_nav(el: lxml.html.HtmlElement) -> bool:
    return any(anc.tag == "nav" for anc in el.iterancestors())


def _article_heading(tree: lxml.html.HtmlElement, written: list[str]) -> str | None:
    """The heading of the page's <article>/<main> that a written headline states, kicker cut.

    Some pages repeat a short social title in an <h1> of their sticky navigation bar, which
    <title> confirms, while the article's own header shows the display headline that the
    JSON-LD headline states (`Kicker: Headline`). The reader's headline is the article's;
    its kicker (a first child that the written headline sets off with a separator) goes,
    as it does from <title>.
    """
    for el in tree.iter("h1", "h2"):
        ancestors = {anc.tag for anc in el.iterancestors()}
        if not ancestors & {"article", "main"} or ancestors & {"nav", "aside", "footer"}:
            continue
        text = _text(el)
        agrees = [w for w in written if text and _letters(w) == _letters(text)]
        if not agrees:
            continue
        parts = [t for child in el if isinstance(child.tag, str) and (t := _text(child))]
        kicker = parts[0] if len(parts) >= 2 else ""
        if kicker and any(w.startswith(kicker) and _SUFFIX_START.match(w[len(kicker) :]) for w in agrees):
            return clean_title(" ".join(parts[1:]))
        return text
    return None


def find_title(
    tree: lxml.html.HtmlElement,
    *,
    rules: SiteRules = NO_RULES,
    json_ld: list[dict] | None = None,
    site_name: str | None = None,
    url: str = "",
) -> tuple[str, str]:
    """(headline, where it came from); ("", "") when the page has none at all.

    `url` is the page's address: a heading that links above it names the site.
    """
    if rules.title:
        for el in _select(tree, rules.title):
            if text := _text(el):
                return text, "rule"
    doc_title = ""
    title_el = tree.find(".//title")
    if title_el is not None:
        doc_title = _text(title_el)
    og_title = _meta(tree, "og:title", "twitter:title")
    headline = _jsonld_headline(json_ld or [])
    names = {n.casefold() for n in (site_name, _meta(tree, "og:site_name", "application-name")) if n}

    h1_els = [(el, t) for el in tree.iter("h1") if (t := _text(el))]
    h1s = [t for _, t in h1_els]
    for el, h1 in h1_els:
        rest = doc_title[len(h1) :] if doc_title.startswith(h1) else None
        # Confirmed when <title> is the h1, or the h1 followed by a separator and a suffix;
        # unless the h1 names the site (a blog's or forum's name over every page).
        if (rest == "" or (rest and _SUFFIX_START.match(rest))) and not _names_site(el, h1, names, url):
            if _in_nav(el) and (own := _article_heading(tree, [t for t in (headline, og_title) if t])):
                return own, "the <article>'s heading, over an <h1> in a <nav>"
            return h1, "h1, confirmed by <title>"
    # Later rules read every heading: h1–h3 and the blocks a CMS names title, in order.
    headings: list[tuple[lxml.html.HtmlElement, str]] = []
    for el in tree.iter(*_HEADING_TAGS, "div", "span", "p", "td", "strong", "b"):
        if el.tag not in _HEADING_TAGS and not _named_title(el):
            continue
        if (text := _text(el)) and len(text) <= 300:
            headings.append((el, text))
    site_headings = {text for el, text in headings if _names_site(el, text, names, url)}
    names |= {t.casefold() for t in site_headings}
    own = [(el, text) for el, text in headings if text not in site_headings]

    # No <h1> (or an empty one): the headline block a CMS names "title" (`div.h-title`,
    # `span.Title`), confirmed the same way; the suffix may follow a bare space here
    # (`标题 栏目_站名`), so the suffix must be no longer than the headline itself.
    for el, text in own:
        if el.tag == "h1" or not _named_title(el):
            continue
        rest = doc_title[len(text) :] if len(text) >= 4 and doc_title.startswith(text) else None
        if rest and len(rest.strip()) <= len(text) and (_SUFFIX_START.match(rest) or rest[0].isspace()):
            return text, "a headline element named title/headline, confirmed by <title>"
    # A heading <title> holds after a prefix (a kicker, a forum's category, the blog's name).
    unsited = _leading_site_segments(doc_title, names)
    for el, text in own:
        if _held_after_prefix(doc_title, text) or _held_after_prefix(unsited, text):
            return text, f"<{el.tag}> held by <title> after a prefix"
    # The <h1> that og:title (or the JSON-LD headline) repeats word for word, whatever <title>
    # says: two of the page's own statements of its headline agree.
    for el, text in own:
        if el.tag == "h1" and text in (og_title, headline):
            return text, f"<h1>, confirmed by {'og:title' if text == og_title else 'the JSON-LD headline'}"
    # A heading spelled differently from og:title or <title> but the same words and letters:
    # the reader sees the heading's spelling (`iPhone-Hülle` for og:title's `Iphonehülle`).
    stripped = _strip_site(doc_title, names) if doc_title else ""
    # Only where the words differ: a heading whose words are those of the written title has
    # merely lost the separator between its kicker and headline spans (`Kicker Headline`).
    written = [t for t in (headline, og_title, stripped) if t]
    for el, text in own:
        key, words = _letters(text), _word_list(text)
        if key and any(_letters(t) == key and _word_list(t) != words for t in written):
            return text, f"<{el.tag}>, og:title/<title> spelled as shown"
    # The page's only <h1>, all of whose words <title> or og:title use in another order
    # (`Review: Sony WH-1000XM4` under `Sony WH-1000XM4 Review: The Best … | WIRED`), or all
    # but one of four or more: <title> rewords the headline for search engines (`Unser
    # Kräutergarten auf der Wannenkopfhütte!` under `Unser frischer Kräutergarten der
    # Wannenkopfhütte in den Allgäuer Alpen`).
    own_h1s = [(el, text) for el, text in own if el.tag == "h1"]
    if len(h1s) == 1 and len(own_h1s) == 1 and not _link_bar(*own_h1s[0]):
        written = [t for t in (stripped, _strip_site(og_title, names)) if t]
        words = _words(own_h1s[0][1])
        same = any(_word_list(t) == _word_list(own_h1s[0][1]) for t in written)  # reads better as written
        missing = min((len(words - _words(t)) for t in written), default=len(words))
        if len(words) >= 3 and not same and (missing == 0 or (missing == 1 and len(words) >= 4)):
            return own_h1s[0][1], "the <h1>, its words confirmed by <title>"
    for candidate, source in ((headline, "json-ld headline"), (og_title, "og:title"), (doc_title, "<title>")):
        if not candidate:
            continue
        text = _strip_site(candidate, names)
        if text.casefold() not in names:
            return text, source if text == candidate else f"{source}, site name cut"
    # <title> and og:title name only the site (a forum's thread page), or there are none:
    # the first other heading, unless it is a toolbar of short links or in a side box.
    named_only = any((headline, og_title, doc_title))
    for el, text in own:
        if _stands_in(el, text):
            return text, f"<{el.tag}> ({'<title> names only the site' if named_only else 'no <title>'})"
    if named_only:
        return _strip_site(doc_title or og_title or headline, names), "<title> (the site's name)"
    return "", ""


def page_title(
    tree: lxml.html.HtmlElement,
    *,
    rules: SiteRules = NO_RULES,
    json_ld: list[dict] | None = None,
    site_name: str | None = None,
    url: str = "",
) -> str:
    """The article headline ("" when the page has none at all)."""
    return find_title(tree, rules=rules, json_ld=json_ld, site_name=site_name, url=url)[0]
