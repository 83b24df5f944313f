"""Decoding article pages: BOM, HTTP charset, late <meta charset>, detection, bad declarations."""

from __future__ import annotations

import pytest

from syndicator.extract.decode import decode_html, decode_page
from syndicator.extract.document import parse_html
from tests.conftest import FIXTURES, SITE_ZHBF

MINIFLUX = FIXTURES / "miniflux" / "encoding"
SITE = SITE_ZHBF

SAMPLES = {
    "gbk": "陆海新通道技术技能人才国际发展联盟在重庆成立，重庆人社持续深化人才领域国际交流合作。",
    "big5": "臺灣的天氣今天很好，我們一起去公園散步吧，順便買一些水果回來。",
    "shift_jis": "今日はとても良い天気ですね。一緒に公園へ散歩に行きましょう。",
    "euc-kr": "오늘은 날씨가 아주 좋습니다. 공원에 산책하러 갑시다.",
    "cp1251": "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "koi8-r": "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "cp1252": "Café, naïve façade and crème brûlée — déjà vu.",
}


def _html(text: str, meta: str = "") -> str:
    return f"<html><head>{meta}<title>t</title></head><body><p>{text}</p></body></html>"


@pytest.mark.parametrize("name", ["utf8.html", "utf8-meta-after-1024.html"])
def test_miniflux_utf8_pages(name: str) -> None:
    text, encoding = decode_html((MINIFLUX / name).read_bytes(), None)
    assert encoding == "utf-8"
    assert "Café" in text


@pytest.mark.parametrize("name", ["iso-8859-1.html", "iso-8859-1-meta-after-1024.html"])
def test_miniflux_latin1_pages_with_meta_early_and_after_1024_bytes(name: str) -> None:
    raw = (MINIFLUX / name).read_bytes()
    text, encoding = decode_html(raw, None)
    assert encoding == "cp1252"  # the WHATWG reading of iso-8859-1
    assert "Café" in text and "\ufffd" not in text


def test_miniflux_koi8r_prolog() -> None:
    text, encoding = decode_html((MINIFLUX / "koi8r.xml").read_bytes(), None)
    assert encoding == "koi8-r"
    assert "Пример RSS ленты" in text


@pytest.mark.parametrize("codec", sorted(SAMPLES))
def test_undeclared_legacy_encodings_are_detected(codec: str) -> None:
    raw = _html(SAMPLES[codec]).encode(codec)
    text, _ = decode_html(raw, None)
    assert SAMPLES[codec] in text


@pytest.mark.parametrize("codec", sorted(SAMPLES))
def test_declared_in_http_header(codec: str) -> None:
    raw = _html(SAMPLES[codec]).encode(codec)
    text, _ = decode_html(raw, f"text/html; charset={codec}")
    assert SAMPLES[codec] in text


def test_meta_charset_after_many_kilobytes() -> None:
    padding = "<!-- " + "x" * 10_000 + " -->"
    raw = (
        "<html><head>" + padding + '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
        "</head><body><p>" + SAMPLES["gbk"] + "</p></body></html>"
    ).encode("gbk")
    text, encoding = decode_html(raw, None)
    assert encoding == "gb18030"  # gb2312 is read as its superset
    assert SAMPLES["gbk"] in text


def test_gb2312_label_with_gbk_only_characters() -> None:
    sample = "镕基总理与喆先生"  # 镕 and 喆 are GBK, not GB2312
    raw = _html(sample, '<meta charset="gb2312">').encode("gbk")
    assert sample in decode_html(raw, None)[0]


def test_valid_utf8_wins_over_a_wrong_declaration() -> None:
    raw = _html(SAMPLES["gbk"], '<meta charset="gbk">').encode("utf-8")
    text, encoding = decode_html(raw, "text/html; charset=iso-8859-1")
    assert encoding == "utf-8"
    assert SAMPLES["gbk"] in text


def test_bom_wins_over_everything() -> None:
    raw = "\ufeff".encode("utf-16-le") + _html("Grüße", '<meta charset="gbk">').encode("utf-16-le")
    text, encoding = decode_html(raw, "text/html; charset=gbk")
    assert encoding == "utf-16-le"
    assert "Grüße" in text


def test_unknown_label_falls_back_to_detection() -> None:
    raw = _html(SAMPLES["gbk"]).encode("gbk")
    text, _ = decode_html(raw, "text/html; charset=no-such-charset")
    assert SAMPLES["gbk"] in text


def test_undecodable_bytes_never_raise_and_say_so() -> None:
    raw = b"<html><body><p>" + bytes(range(0x80, 0x100)) * 3 + b"</p></body></html>"
    decoded = decode_page(raw, "text/html; charset=utf-8")
    assert decoded.text.startswith("<html>")
    assert decoded.warning


@pytest.mark.parametrize("content_type", [None, "text/html; charset=gbk"])
def test_seed_gbk_page_matches_utf8_copy(content_type: str | None) -> None:
    gbk, encoding = decode_html((SITE / "article-8812.gbk.html").read_bytes(), content_type)
    utf8, _ = decode_html((SITE / "article-8812.utf8.html").read_bytes(), None)
    assert encoding == "gb18030"
    paragraphs = [p.text_content() for p in parse_html(gbk).iter("p")]
    assert paragraphs == [p.text_content() for p in parse_html(utf8).iter("p")]


# ---------------------------------------------------------------- damaged and mixed UTF-8

UTF8_TEXT = "陆海新通道技术技能人才国际发展联盟在重庆成立。" * 20  # plenty of good multibyte text


def test_a_few_bad_bytes_in_declared_utf8_stay_utf8_and_name_the_first() -> None:
    """Not read as windows-1257 (what detection guesses for such bytes): the good text stays."""
    head = _html("").encode()[: -len(b"</p></body></html>")]  # up to the open <p>
    raw = head + UTF8_TEXT.encode() + b"\xff\xfe broken" + UTF8_TEXT.encode() + b"</p></body></html>"
    decoded = decode_page(raw, "text/html; charset=utf-8")
    assert decoded.encoding == "utf-8" and UTF8_TEXT in decoded.text
    bad = raw.index(b"\xff")
    assert decoded.warning == (
        f"invalid UTF-8 at byte {bad}; decoded as utf-8 (declared), 2 invalid sequences replaced"
    )


@pytest.mark.parametrize("content_type", [None, "text/html; charset=utf-8"])
def test_gbk_runs_inside_utf8_are_read_as_gbk_and_reported(content_type: str | None) -> None:
    gbk_run = "重庆人社持续深化人才领域国际交流合作"
    raw = _html(UTF8_TEXT).encode().replace(b"</p>", b"</p><p>" + gbk_run.encode("gbk") + b"</p>")
    decoded = decode_page(raw, content_type)
    assert decoded.encoding == "utf-8"
    assert f"{UTF8_TEXT}</p><p>{gbk_run}</p>" in decoded.text  # both legible, no mojibake
    sequences = raw.decode("utf-8", "replace").count("\ufffd")
    assert decoded.warning == (
        f"mixed encodings: {sequences} invalid UTF-8 sequences (looks like GBK inside UTF-8); "
        "read those as GBK"
    )


def test_a_gbk_paragraph_indented_with_utf8_ideographic_spaces_reads_right() -> None:
    """U+3000 U+3000 in UTF-8 (E3 80 80 …) then GBK with no ASCII between: one byte run,
    which is neither UTF-8 nor GBK as a whole; its UTF-8 head and GBK tail each read."""
    gbk_text = "活动现场，斯里兰卡代表发视频致辞。"
    raw = _html(UTF8_TEXT).encode() + b"<p>" + "\u3000\u3000".encode() + gbk_text.encode("gbk") + b"</p>"
    decoded = decode_page(raw, None)
    assert f"<p>\u3000\u3000{gbk_text}</p>" in decoded.text
    assert decoded.warning is not None and decoded.warning.startswith("mixed encodings: ")


def test_a_gbk_page_declared_utf8_is_decoded_as_gbk_naming_the_first_bad_byte() -> None:
    text = SAMPLES["gbk"] * 5
    raw = _html(text).encode("gbk")
    decoded = decode_page(raw, "text/html; charset=utf-8")
    assert decoded.encoding == "gb18030" and text in decoded.text
    with pytest.raises(UnicodeDecodeError) as caught:
        raw.decode("utf-8")
    first = caught.value.start  # "陆" is C2 BD in GBK, valid UTF-8: the first bad byte is later
    assert first > raw.index(text.encode("gbk"))
    assert decoded.warning == f"invalid UTF-8 at byte {first}; decoded as gb18030"


def test_valid_utf8_has_no_warning() -> None:
    decoded = decode_page(_html(UTF8_TEXT).encode(), None)
    assert decoded.warning is None and decoded.encoding == "utf-8"
