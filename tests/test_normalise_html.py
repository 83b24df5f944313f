"""sanitise_html, plain_text, strip_xml_illegal and summarise on hostile and real input."""

import json
import random
import re
from dataclasses import replace

import pytest

from syndicator.normalise import plain_text, sanitise_html, strip_xml_illegal, summarise
from syndicator.normalise.page import normalise_page
from syndicator.normalise.text import MAX_TITLE_CHARS, cap_title, sanitised_text_start, text_start
from tests.conftest import SITE_ZHBF
from tests.test_categories import FETCHED, SOURCE, page  # an extracted page, its source
from tests.test_normalise_entry import ENTRY, run  # a parsed feed entry, normalised

BASE = "https://zhbf.example/news/8812.html"


@pytest.mark.parametrize(
    ("hostile", "forbidden"),
    [
        ("<p>hi</p><script>alert('x')</script>", ["<script", "alert"]),
        ('<img src=x onerror="alert(1)">', ["onerror", "alert"]),
        ('<a href="javascript:alert(1)">click</a>', ["javascript", "alert"]),
        ('<a href=" JaVaScRiPt:alert(1)">click</a>', ["javascript", "alert"]),
        ('<iframe src="https://evil.example/"></iframe>', ["<iframe", "evil"]),
        ("<style>body{display:none}</style><p>x</p>", ["<style", "display"]),
        (
            '<form action="/steal"><input name="pw"><button>Go</button></form>',
            ["<form", "<input", "steal", "Go"],
        ),
        ('<svg onload="alert(1)"><script>alert(2)</script></svg>', ["<svg", "alert"]),
        ('<p onclick="alert(1)" style="position:fixed">x</p>', ["onclick", "style", "alert"]),
        ('<object data="x.swf"></object><embed src="y.swf">', ["<object", "<embed", "swf"]),
        ('<img src="data:image/svg+xml;base64,PHN2Zz4=">', ["data:", "<img"]),
        ('<a href="vbscript:msgbox(1)">v</a>', ["vbscript"]),
        ('<math><mtext><style><img src=x onerror=alert(1)></style></mtext></math>', ["onerror", "alert"]),
        ('<video src="v.mp4" poster="p.jpg">old browser</video>', ["<video", "poster"]),
        ("<!-- secret --><p>x</p>", ["secret"]),
    ],
)  # fmt: skip
def test_hostile_html_is_neutralised(hostile: str, forbidden: list[str]) -> None:
    clean = sanitise_html(hostile, BASE)
    for fragment in forbidden:
        assert fragment.lower() not in clean.lower(), clean


def test_safe_markup_and_text_survive() -> None:
    html = (
        "<h2>Title</h2><p>One <strong>bold</strong> &amp; <em>em</em>.</p>"
        "<blockquote>q</blockquote><ul><li>a</li></ul><table><tr><td colspan=2>c</td></tr>"
        "</table><pre><code>x &lt; y</code></pre>"
    )
    assert sanitise_html(html, BASE) == (
        "<h2>Title</h2><p>One <strong>bold</strong> &amp; <em>em</em>.</p>"
        '<blockquote>q</blockquote><ul><li>a</li></ul><table><tbody><tr><td colspan="2">c</td>'
        "</tr></tbody></table><pre><code>x &lt; y</code></pre>"
    )


def test_relative_links_become_absolute() -> None:
    html = '<a href="../about">a</a><img src="/i/1.jpg"><a href="#top">t</a><a href="mailto:x@y.z">m</a>'
    clean = sanitise_html(html, BASE)
    assert 'href="https://zhbf.example/about"' in clean
    assert 'src="https://zhbf.example/i/1.jpg"' in clean
    assert 'href="https://zhbf.example/news/8812.html#top"' in clean
    assert 'href="mailto:x@y.z"' in clean
    assert 'rel="noopener noreferrer"' in clean


def test_relative_links_without_web_base_are_dropped_not_kept_relative() -> None:
    clean = sanitise_html('<a href="/a">a</a><a href="https://x.example/">b</a>', "file:///s.xml")
    assert clean == (
        '<a rel="noopener noreferrer">a</a><a href="https://x.example/" rel="noopener noreferrer">b</a>'
    )


@pytest.mark.parametrize(
    ("img", "src"),
    [
        ('<img src="/static/blank.gif" data-original="/u/1.jpg">', "https://zhbf.example/u/1.jpg"),
        ('<img data-src="//cdn.example/2.png">', "https://cdn.example/2.png"),
        ('<img src="data:image/gif;base64,R0lGOD" data-lazy-src="3.jpg">', "https://zhbf.example/news/3.jpg"),
        ('<img src="spacer.gif" data-actualsrc="4.jpg">', "https://zhbf.example/news/4.jpg"),
        ('<img src="real.jpg" data-src="other.jpg">', "https://zhbf.example/news/real.jpg"),
    ],
)  # fmt: skip
def test_lazy_images_get_their_real_src(img: str, src: str) -> None:
    clean = sanitise_html(img, BASE)
    assert re.fullmatch(r'<img src="([^"]+)">', clean), clean
    assert f'src="{src}"' in clean


def test_srcset_is_made_absolute_and_unsafe_candidates_dropped() -> None:
    clean = sanitise_html('<img src="a.jpg" srcset="a.jpg 1x, javascript:x 2x, /b.jpg 3x">', BASE)
    assert 'srcset="https://zhbf.example/news/a.jpg 1x, https://zhbf.example/b.jpg 3x"' in clean


def test_spacers_and_tracking_pixels_are_removed() -> None:
    html = (
        '<p>x<img src="/static/blank.gif"><img src="https://t.example/p?id=1" width="1" '
        'height="1"><img src="https://t.example/pixel.gif?id=2"></p>'
    )
    assert sanitise_html(html, BASE) == "<p>x</p>"


def test_corpus_article_page_is_safe_and_keeps_its_real_images() -> None:
    page = (SITE_ZHBF / "article-8812.utf8.html").read_text("utf-8")
    expected = json.loads((SITE_ZHBF / "article-8812.expected.json").read_text("utf-8"))
    clean = sanitise_html(page, expected["url"])
    srcs = re.findall(r'<img src="([^"]+)"', clean)
    assert srcs == [image["src"] for image in expected["images"]]
    for fragment in ["<script", "javascript:", "hm.tracker.example", "pixel.gif", "blank.gif"]:
        assert fragment not in clean
    assert expected["paragraphs"][0][:40] in plain_text(clean)


def test_xml_illegal_and_c1_characters_are_removed() -> None:
    dirty = "a\x00b\x0bc\x1fd\x85e\x9ff\ud800g\ufffeh\tline\nend\r"
    assert strip_xml_illegal(dirty) == "abcdefgh\tline\nend\r"
    assert sanitise_html("<p>a\x00b\x0bc\x1fd\x85e\x9ff\udfffg</p>", BASE) == "<p>abcdefg</p>"
    assert plain_text("<p>x\x85y</p>") == "xy"


def test_plain_text_reads_like_the_page() -> None:
    html = "<h1>Head</h1><p>One&nbsp;two &amp; <b>three</b></p><script>var x</script><p>四　五</p>"
    assert plain_text(html) == "Head One two & three 四 五"


def test_summary_is_unchanged_when_short() -> None:
    assert summarise("  short   text \n") == "short text"


def test_latin_summary_cuts_at_a_word_boundary() -> None:
    text = "word " * 100
    cut = summarise(text, 32)
    assert cut == "word word word word word word…"
    assert len(cut) <= 32


def test_summary_prefers_a_sentence_end() -> None:
    text = "The first sentence is here. The second sentence goes on and on and on."
    assert summarise(text, 40) == "The first sentence is here.…"


def test_cjk_summary_cuts_between_characters() -> None:
    text = "陆海新通道技术技能人才国际发展联盟在重庆成立近年来重庆人社持续深化人才领域国际交流合作"
    cut = summarise(text, 20)
    assert cut == text[:19] + "…"


def test_cjk_summary_cuts_after_a_full_stop() -> None:
    text = "第一句话在这里结束。第二句话比较长一些，还在继续，一直到很远的地方才结束。"
    assert summarise(text, 16) == "第一句话在这里结束。…"


def test_mixed_summary_does_not_split_a_latin_word() -> None:
    text = "重庆人社发布了新的 internationalisation 政策与措施"
    cut = summarise(text, 20)
    assert cut == "重庆人社发布了新的…"
    assert len(cut) <= 20


# ---------------------------------------------------------------- title cap


def test_a_title_at_the_cap_is_kept_and_a_longer_one_cut_with_an_ellipsis() -> None:
    assert cap_title("x" * MAX_TITLE_CHARS) == "x" * MAX_TITLE_CHARS
    cut = cap_title("标题" * 2000)  # CJK: each character is three UTF-8 bytes
    assert len(cut) == MAX_TITLE_CHARS and cut.endswith("…")
    assert ("标题" * 2000).startswith(cut[:-1])
    assert cap_title("word " * 400, max_chars=10) == "word word…"  # no space before "…"
    emoji = cap_title("😀" * 20, max_chars=5)  # astral characters are whole characters
    assert emoji == "😀😀😀😀…" and emoji.encode("utf-8").decode("utf-8") == emoji


def test_feed_entries_and_pages_share_the_title_cap() -> None:
    huge = "很长的标题" * 1000
    entry = run(replace(ENTRY, title=huge))
    article = normalise_page(
        replace(page(None), title=huge), SOURCE, fetched_at=FETCHED, categories=("qinggan",)
    )
    assert entry.title == article.title == cap_title(huge)
    assert len(entry.title) == MAX_TITLE_CHARS


def _long_article(pick: random.Random) -> str:
    """Markup where the parse of a piece can stop anywhere: tags, entities, scripts, CJK."""
    pieces = [
        "<p>", "</p>", "<br>", "&amp;", "&#x4e2d;", "&eacute;", " &lt;b&gt; ", "<a href='/x?a=1&amp;b=2'>",
        "<script>var a = '<p>';</script>", "</a>", "中文句子。", "Sentence ends here. ", "word ",
        "\n\t ", "<!-- c -->",
    ]  # fmt: skip
    return "".join(pick.choice(pieces) for _ in range(pick.randrange(200, 2500)))


def test_text_start_gives_the_summary_and_title_the_whole_text_gives() -> None:
    """`text_start` parses only the start of a long article; what readers see (summary,
    a title taken from the text) is exactly what parsing all of it gave."""
    pick = random.Random(16)
    for _ in range(200):
        markup = _long_article(pick)
        whole = plain_text(markup)
        start = text_start(markup, 280)
        assert whole.startswith(start) and (start == whole or len(start) > 281)
        assert summarise(start) == summarise(whole)
        assert summarise(start, 80) == summarise(whole, 80)
    assert text_start("<p>short &amp; sweet</p>", 280) == "short & sweet"


def test_sanitised_text_start_reads_what_text_start_reads() -> None:
    """Normalising reads the start of the sanitised content with one regular expression
    (`sanitised_text_start`) instead of HTMLParser: on whatever nh3 wrote, hostile input
    included, readers see the same summary and title, and markup of another form (not
    from nh3) takes HTMLParser's path."""
    pick = random.Random(17)
    hostile = [
        "<h1><p>in a heading</p>tail</h1>after", "<img src='/a.jpg' alt='a > b'>",
        "<abbr title='<b>'>t</abbr>", "<svg><text>drawn</text></svg>", "&nbsp;",
        "<select><option>o</option></select>", "<x-tag>custom</x-tag>", "<P CLASS=x>upper</P>",
        "<br/>", "<table><tr><td>cell", "<math>m</math>", "<noscript>n</noscript>",
    ]  # fmt: skip
    for _ in range(200):
        markup = sanitise_html(_long_article(pick) + "".join(pick.choice(hostile) for _ in range(20)), BASE)
        whole = plain_text(markup)
        start = sanitised_text_start(markup, 280)
        assert whole.startswith(start) and (start == whole or len(start) > 281)
        assert summarise(start) == summarise(text_start(markup, 280))
        assert summarise(start, 80) == summarise(text_start(markup, 80), 80)
    assert sanitised_text_start("<p>a</p><p>b &amp; c", 280) == "a b & c"  # not nh3's form
