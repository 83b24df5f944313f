"""Which <img> an article keeps, and at which address (syndicator/normalise/images.py).

Chinese CMS templates lazy-load: `src` is a spacer and the real picture sits in a data
attribute. A reader must see the real picture, never the spacer, a 1×1 tracking pixel
or a hidden beacon; these tests pin that choice one trait at a time.
"""

from __future__ import annotations

import lxml.html
import pytest

from syndicator.models import PageImage
from syndicator.normalise.images import image_address, is_placeholder, page_image

BASE = "https://news.example/2026/11/story.html"


def img(attributes: str) -> lxml.html.HtmlElement:
    return lxml.html.fragment_fromstring(f"<img {attributes}>")


@pytest.mark.parametrize(
    "src",
    [
        "",
        "   ",
        "data:image/gif;base64,R0lGODlhAQABAAAAACw=",
        "/static/images/blank.gif",
        "https://cdn.example/img/lazy-placeholder.png?v=3",
        "/skin/grey.jpg",
        "about:blank",
    ],
)
def test_stand_ins_are_placeholders(src):
    assert is_placeholder(src)


@pytest.mark.parametrize(
    "src",
    [
        "/uploads/2026/11/photo.jpg",
        "https://cdn.example/img/blanket-fort.jpg",  # "blank" only as a whole file name
        "/uploads/pixelart-cover.png",
        "/uploads/default-route-map.webp",
    ],
)
def test_real_pictures_are_not_placeholders(src):
    assert not is_placeholder(src)


@pytest.mark.parametrize(
    ("attributes", "address"),
    [
        ('src="/a.jpg"', "/a.jpg"),
        ('src="/images/blank.gif" data-original="/real.jpg"', "/real.jpg"),
        ('src="/thumb.jpg" data-src="/full.jpg"', "/full.jpg"),  # the lazy attribute wins
        ('src="data:image/gif;base64,AAAA" data-actualsrc="/zhihu.jpg"', "/zhihu.jpg"),
        ('src="/spacer.gif" file="/discuz.jpg"', "/discuz.jpg"),
        ('data-original="/images/loading.gif" data-src="/second.jpg"', "/second.jpg"),
        ('src="/blank.gif" data-srcset="/s.jpg 320w, /l.jpg 1280w, /m.jpg 640w"', "/l.jpg"),
        ('srcset="/1x.jpg 1x, /2x.jpg 2x"', "/2x.jpg"),
    ],
)
def test_the_real_address_behind_lazy_loading(attributes, address):
    assert image_address(img(attributes)) == address


@pytest.mark.parametrize(
    "attributes",
    [
        'src="/images/blank.gif"',  # a spacer with nothing behind it
        'src="/a.jpg" width="1" height="1"',  # a tracking pixel
        'src="/a.jpg" width="2px"',
        'src="https://hm.baidu.com/hm.gif?si=123"',
        'src="/stat/counter.php?id=9"',
        'src="/a.jpg" style="display: none"',
        'src="/a.jpg" style="visibility:hidden"',
    ],
)
def test_pixels_beacons_and_hidden_images_show_nothing(attributes):
    assert image_address(img(attributes)) is None


def test_small_but_visible_images_are_kept():
    assert image_address(img('src="/icon.png" width="16" height="16"')) == "/icon.png"


def test_page_image_is_absolute_with_alt_or_title_as_plain_text():
    assert page_image(img('src="/a.jpg" alt=" A  <b>cat</b> "'), BASE) == PageImage(
        src="https://news.example/a.jpg", alt="A cat"
    )
    assert page_image(img('data-src="b.jpg" title="Title text"'), BASE) == PageImage(
        src="https://news.example/2026/11/b.jpg", alt="Title text"
    )


def test_page_image_drops_addresses_that_are_not_web_addresses():
    assert page_image(img('src="javascript:void(0)"'), BASE) is None
    assert page_image(img('src="ftp://files.example/a.jpg"'), BASE) is None
