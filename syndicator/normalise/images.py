"""<img> elements → PageImage: the real address behind lazy loading, pixels rejected.

Shared by both kinds of article: page extraction reads each <img> of the article body
(`page_image`), and a feed item's sanitised content gives its images the same way
(`content_images`). Either becomes an image enclosure through `image_enclosure`.

CMS templates load images with a script: `src` holds a placeholder (blank.gif, a spacer,
a data: URI, a 1×1 pixel) and the real address sits in a data attribute whose name
depends on the lazy-load library (jQuery lazyload: data-original; lazysizes: data-src;
WordPress plugins: data-lazy-src; Zhihu: data-actualsrc; Discuz: file/zoomfile). Tracking
pixels and spacers are not images a reader sees, so they are dropped, not kept.
"""

from __future__ import annotations

import mimetypes
import re

import lxml.html
from lxml import etree

from syndicator.models import Enclosure, PageImage

from .errors import NormaliseError
from .text import plain_text
from .urls import absolute_url

# In order of preference: attributes that hold the full-size image come first.
LAZY_ATTRIBUTES = (
    "data-original",
    "data-src",
    "data-lazy-src",
    "data-actualsrc",
    "data-url",
    "data-original-src",
    "data-lazy",
    "data-echo",
    "data-img",
    "zoomfile",
    "file",
)
LAZY_SRCSET_ATTRIBUTES = ("data-srcset", "data-lazy-srcset", "srcset")
_PLACEHOLDER = re.compile(
    r"(?:^data:|^about:|^javascript:|/(?:[^/?#]*[-_.])?(?:blank|spacer|pixel|placeholder"
    r"|transparent|loading|lazyload|lazy|grey|gray|clear|1x1|none|default|nopic|nophoto)"
    r"\.(?:gif|png|svg|jpe?g|webp)(?:[?#]|$))",
    re.IGNORECASE,
)
# Hosts and paths of analytics beacons: an <img> that only reports a page view.
_TRACKER = re.compile(
    r"(?:/(?:pixel|beacon|track|tracker|stat|stats|count|counter|hm|tj|log)\.(?:gif|png|php|aspx?)"
    r"|[./](?:tracker|stat|stats|analytics|beacon|cnzz|51\.la|hm\.baidu)\.)",
    re.IGNORECASE,
)
_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_NUMBER = re.compile(r"^\s*(\d+)")


def _size(img: lxml.html.HtmlElement, name: str) -> int | None:
    match = _NUMBER.match(img.get(name) or "")
    return int(match.group(1)) if match else None


def _largest_in_srcset(srcset: str) -> str | None:
    """The candidate with the largest width/density descriptor (the first if none)."""
    best: tuple[float, str] | None = None
    for candidate in srcset.split(","):
        parts = candidate.strip().split()
        if not parts:
            continue
        weight = 0.0
        if len(parts) > 1 and parts[1][:-1].replace(".", "", 1).isdigit():
            weight = float(parts[1][:-1])
        if best is None or weight > best[0]:
            best = (weight, parts[0])
    return best[1] if best else None


def is_placeholder(src: str) -> bool:
    """True for a src that is a stand-in until a script swaps the real image in."""
    return not src.strip() or bool(_PLACEHOLDER.search(src.strip()))


def image_address(img: lxml.html.HtmlElement) -> str | None:
    """The real (possibly relative) address of an <img>, or None for a pixel or spacer."""
    src = (img.get("src") or "").strip()
    if is_placeholder(src):
        src = ""
    lazy = next(
        (v for name in LAZY_ATTRIBUTES if (v := (img.get(name) or "").strip()) and not is_placeholder(v)),
        None,
    )
    if lazy:
        src = lazy  # a lazy attribute is set by the template for the real image: it wins
    if not src:
        for name in LAZY_SRCSET_ATTRIBUTES:
            candidate = _largest_in_srcset(img.get(name) or "")
            if candidate and not is_placeholder(candidate):
                src = candidate
                break
    if not src:
        return None
    width, height = _size(img, "width"), _size(img, "height")
    if (width is not None and width <= 2) or (height is not None and height <= 2):
        return None
    if _TRACKER.search(src) or _HIDDEN.search(img.get("style") or ""):
        return None
    return src


def page_image(img: lxml.html.HtmlElement, base_url: str) -> PageImage | None:
    """A PageImage with an absolute http(s) src, or None when the <img> shows nothing."""
    address = image_address(img)
    if address is None:
        return None
    try:
        src = absolute_url(address, base_url)
    except NormaliseError:
        return None
    alt = plain_text(img.get("alt") or img.get("title") or "")
    return PageImage(src=src, alt=alt)


def content_images(content_html: str, base_url: str) -> tuple[PageImage, ...]:
    """The images a (sanitised) HTML fragment shows, in document order, each address once.

    Every <img> goes through `page_image`, so a feed item loses the same spacers, tracking
    pixels and beacons a page does; sanitising already resolved lazy-load attributes.
    """
    if "<img" not in content_html:
        return ()
    try:
        root = lxml.html.fragment_fromstring(content_html, create_parent="div")
    except (etree.ParserError, ValueError):
        return ()  # lxml refuses some control characters; no images is the safe answer
    found: dict[str, PageImage] = {}
    for img in root.iter("img"):
        image = page_image(img, base_url)
        if image is not None:
            found.setdefault(image.src, image)
    return tuple(found.values())


def image_enclosure(image: PageImage) -> Enclosure:
    """An image as an enclosure: the type guessed from its path (JPEG when the path says
    nothing, the commonest for photos), size unknown."""
    guessed, _ = mimetypes.guess_type(image.src.split("?", 1)[0])
    kind = guessed if guessed and guessed.startswith("image/") else "image/jpeg"
    return Enclosure(url=image.src, type=kind)
