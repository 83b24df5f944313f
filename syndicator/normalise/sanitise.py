"""Untrusted upstream HTML → HTML that is safe to put in a feed and readable anywhere.

nh3 (ammonia) does the sanitising with an explicit allow-list; its attribute filter makes
every link absolute (feed readers have no base URL for our content) and drops links that
are not http(s)/mailto. Lazy-loaded images keep their real address in data-src and
friends; those are promoted to src on nh3's own output, whose serialisation is regular
(double-quoted, escaped attributes), so no second HTML parser ever sees hostile markup.
"""

from __future__ import annotations

import functools
import re

import nh3

from .errors import NormaliseError
from .text import strip_xml_illegal
from .urls import absolute_url

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup",
        "dd", "del", "details", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2",
        "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p",
        "picture", "pre", "q", "s", "samp", "small", "source", "span", "strong", "sub",
        "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u",
        "ul", "var",
    }
)  # fmt: skip
# Removed together with everything inside them: code, widgets and media we do not carry.
# (Tags that are neither allowed nor here are unwrapped: their text stays.)
DROPPED_WITH_CONTENT = frozenset(
    {
        "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet",
        "form", "button", "select", "textarea", "svg", "math", "noscript", "template",
        "video", "audio", "canvas", "map", "title", "head", "meta", "link", "base",
    }
)  # fmt: skip
LAZY_SRC_ATTRIBUTES = ("data-src", "data-original", "data-lazy-src", "data-actualsrc")
_LAZY_SRCSET_ATTRIBUTES = ("data-srcset", "data-lazy-srcset")
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"title", "lang", "dir"},
    "a": {"href"},
    "abbr": {"title"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"},
    "time": {"datetime"},
    "img": {"src", "alt", "width", "height", "srcset", "sizes", *LAZY_SRC_ATTRIBUTES,
            *_LAZY_SRCSET_ATTRIBUTES},
    "source": {"srcset", "sizes", "type", "media"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "reversed"},
}  # fmt: skip
URL_SCHEMES = frozenset({"http", "https", "mailto"})
_URL_ATTRIBUTES = frozenset({"href", "src", "cite", *LAZY_SRC_ATTRIBUTES})
_SRCSET_ATTRIBUTES = frozenset({"srcset", *_LAZY_SRCSET_ATTRIBUTES})

# A src that is only a stand-in until a script swaps the real image in (when a lazy
# attribute holds the real address, a loose match is fine: the real address wins).
_PLACEHOLDER = re.compile(
    r"(?:^data:|/(?:[^/?#]*[-_.])?(?:blank|spacer|pixel|placeholder|transparent|loading"
    r"|lazyload|grey|gray|clear|1x1)\.(?:gif|png|svg|jpe?g|webp)(?:[?#]|$))",
    re.IGNORECASE,
)
# An image that shows nothing by itself: a spacer, or a tracking pixel. Strict, since it
# removes the image (a photo named `google-pixel.jpg` must stay).
_SPACER = re.compile(
    r"/(?:blank|spacer|pixel|transparent|placeholder|loading|grey|gray|clear|1x1)"
    r"\.(?:gif|png)(?:[?#]|$)",
    re.IGNORECASE,
)
# nh3 output: `<img` then attributes that are bare or `name="value"` with `"` escaped.
_IMG = re.compile(r'<img((?:\s+[^\s"=>/]+(?:="[^"]*")?)*)\s*/?>')
_ATTR = re.compile(r'\s+([^\s"=>/]+)(?:="([^"]*)")?')


def _url(value: str, base: str, *, image: bool) -> str | None:
    value = value.strip()
    if not image and value.lower().startswith("mailto:"):
        return value
    try:
        return absolute_url(value, base)
    except NormaliseError:
        return None  # javascript:, data:, unparseable: the attribute goes, the element stays


def _srcset(value: str, base: str) -> str | None:
    """Each candidate `url [descriptor]` made absolute; unsafe candidates dropped."""
    candidates = []
    for candidate in value.split(","):
        url, _, descriptor = candidate.strip().partition(" ")
        absolute = _url(url, base, image=True) if url else None
        if absolute:
            candidates.append(f"{absolute} {descriptor.strip()}".strip())
    return ", ".join(candidates) or None


def _attribute_filter(base: str, element: str, attribute: str, value: str) -> str | None:
    if attribute in _URL_ATTRIBUTES:
        if attribute in LAZY_SRC_ATTRIBUTES and _PLACEHOLDER.search(value.strip()):
            return None
        return _url(value, base, image=element != "a")
    if attribute in _SRCSET_ATTRIBUTES:
        return _srcset(value, base)
    return value


def _promote_lazy(match: re.Match[str]) -> str:
    """Give an <img> its real address from a lazy-loading attribute; drop those attributes."""
    attrs = {name: value for name, value in _ATTR.findall(match.group(1))}
    src = attrs.get("src", "")
    lazy = next((attrs[name] for name in LAZY_SRC_ATTRIBUTES if attrs.get(name)), None)
    lazy_set = next((attrs[name] for name in _LAZY_SRCSET_ATTRIBUTES if attrs.get(name)), None)
    if lazy and (not src or _PLACEHOLDER.search(src)):
        attrs["src"] = lazy
    if lazy_set and not attrs.get("srcset"):
        attrs["srcset"] = lazy_set
    for name in (*LAZY_SRC_ATTRIBUTES, *_LAZY_SRCSET_ATTRIBUTES):
        attrs.pop(name, None)
    src = attrs.get("src", "")
    tiny = {attrs.get("width", "").strip(), attrs.get("height", "").strip()} <= {"0", "1"}
    if not src or _SPACER.search(src) or tiny:
        return ""  # a broken-image icon, a spacer or a tracking pixel: nothing to read
    return "<img" + "".join(f' {name}="{value}"' for name, value in attrs.items()) + ">"


def sanitise_html(html: str, base_url: str) -> str:
    """Safe HTML: allow-listed tags and attributes, absolute http(s) links, real image srcs.

    `base_url` resolves relative links. When it is not an http(s) URL (a `file:` sample
    feed), relative links cannot be made absolute and are removed; absolute ones stay.
    """
    base = strip_xml_illegal(base_url).strip()
    text = strip_xml_illegal(html)
    if not text.strip():
        return ""
    # nh3.clean rather than nh3.Cleaner: same result, and works with every nh3 that has
    # attribute_filter (≥ 0.2.15); building the policy costs microseconds.
    cleaned = nh3.clean(
        text,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=functools.partial(_attribute_filter, base),
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    return _IMG.sub(_promote_lazy, cleaned).strip()
