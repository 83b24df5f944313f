"""canonical_url, absolute_url and article_id: one spelling and one id per article."""

import random
import re

import pytest

from syndicator.normalise import NormaliseError, absolute_url, article_id, canonical_url


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("HTTP://Example.COM", None, "http://example.com/"),
        ("https://example.com:443/a", None, "https://example.com/a"),
        ("http://example.com:80/a", None, "http://example.com/a"),
        ("http://example.com:8080/a", None, "http://example.com:8080/a"),
        ("https://example.com:80/a", None, "https://example.com:80/a"),
        ("https://example.com/a#comments", None, "https://example.com/a"),
        ("https://例子.测试/新闻", None, "https://xn--fsqu00a.xn--0zwm56d/%E6%96%B0%E9%97%BB"),
        ("https://BÜCHER.example/", None, "https://xn--bcher-kva.example/"),
        ("http://example.com/a/./b/../c", None, "http://example.com/a/c"),
        ("http://example.com/%7euser/a b", None, "http://example.com/~user/a%20b"),
        ("http://[2001:DB8::1]:8080/x", None, "http://[2001:db8::1]:8080/x"),
        # relative links against a base
        ("/a/8812.html", "https://zhbf.example/rss.xml", "https://zhbf.example/a/8812.html"),
        ("../b?x=1", "https://zhbf.example/a/c/d.html", "https://zhbf.example/a/b?x=1"),
        ("//cdn.example/i.png", "https://zhbf.example/", "https://cdn.example/i.png"),
        ("  https://example.com/a  ", None, "https://example.com/a"),
        # tracking parameters go, others stay in order
        (
            "https://example.com/p?utm_source=rss&id=3&utm_MEDIUM=x&fbclid=F&b=2&gclid=G",
            None,
            "https://example.com/p?id=3&b=2",
        ),
        ("https://example.com/p?mc_cid=1&mc_eid=2&igshid=3&spm=a.b.c", None, "https://example.com/p"),
        ("https://mp.example/s?__biz=M&from=timeline&isappinstalled=0", None,
         "https://mp.example/s?__biz=M"),
        ("https://example.com/s?from=archive&z=1&a=2", None, "https://example.com/s?from=archive&z=1&a=2"),
        ("https://example.com/s?q=%e4%b8%ad&&x=", None, "https://example.com/s?q=%E4%B8%AD&x="),
    ],
)  # fmt: skip
def test_canonical_url(url: str, base: str | None, expected: str) -> None:
    assert canonical_url(url, base) == expected


def test_canonical_url_is_idempotent() -> None:
    once = canonical_url("HTTPS://Ex.com:443/a/../b c?utm_id=1&k=v#f")
    assert canonical_url(once) == once == "https://ex.com/b%20c?k=v"


@pytest.mark.parametrize(
    ("url", "base", "reason"),
    [
        ("javascript:alert(1)", "https://example.com/", "javascript"),
        ("data:text/html,<b>x</b>", None, "data"),
        ("mailto:a@example.com", None, "mailto"),
        ("ftp://example.com/f", None, "ftp"),
        ("/relative/only", None, "relative"),
        ("", None, "empty"),
        ("http://example.com:99999/", None, "port"),
        ("http:///nohost", None, "host"),
    ],
)
def test_non_web_links_are_rejected(url: str, base: str | None, reason: str) -> None:
    with pytest.raises(NormaliseError, match=reason):
        canonical_url(url, base)


def test_absolute_url_keeps_query_and_fragment() -> None:
    # Enclosures may be signed: nothing in their query is ours to drop.
    got = absolute_url("media/a.mp3?utm_source=x&sig=abc#t=10", "https://Ex.com/feed/")
    assert got == "https://ex.com/feed/media/a.mp3?utm_source=x&sig=abc#t=10"


def test_article_id_is_stable_and_shaped_for_urn_uuid() -> None:
    first = article_id("zhbf", "tag:zhbf.example,2023:8812", None)
    again = article_id("zhbf", "tag:zhbf.example,2023:8812", "https://zhbf.example/other")
    assert first == again
    assert re.fullmatch(r"[0-9a-f]{32}", first)


def test_article_id_is_the_documented_digest() -> None:
    import hashlib

    expected = hashlib.sha256(b"zhbf\0guid:8812").hexdigest()[:32]
    assert article_id("zhbf", "8812", None) == expected
    by_url = hashlib.sha256(b"zhbf\0url:https://zhbf.example/a").hexdigest()[:32]
    assert article_id("zhbf", None, "https://zhbf.example/a") == by_url


def test_article_id_differs_per_source_and_per_guid() -> None:
    ids = {
        article_id("zhbf", "8812", None),
        article_id("other", "8812", None),
        article_id("zhbf", "8813", None),
    }
    assert len(ids) == 3


def test_article_id_falls_back_to_link_when_guid_blank() -> None:
    url = "https://zhbf.example/a"
    assert article_id("zhbf", "  ", url) == article_id("zhbf", None, url)
    # a guid equal to the URL is still a guid: the two keys must not collide
    assert article_id("zhbf", url, None) != article_id("zhbf", None, url)


def test_article_without_guid_or_link_cannot_be_identified() -> None:
    with pytest.raises(NormaliseError, match="no guid and no http"):
        article_id("zhbf", None, None)


def test_absolute_and_canonical_url_take_their_shortcut_only_where_it_gives_the_same_url() -> None:
    """`absolute_url` and `canonical_url` answer the commonest shapes of link without
    urljoin/urlsplit (most of sanitising a feed's HTML); on every input, shortcut or not,
    they give what the general path gives."""
    from urllib.parse import urlunsplit

    from syndicator.normalise import urls

    def general(url: str, base: str | None) -> str:
        try:
            parts = urls._split(url, base)
        except NormaliseError:
            return "error"
        encoded = {name: urls._encode(getattr(parts, name)) for name in ("path", "query", "fragment")}
        return urlunsplit(parts._replace(**encoded))

    def canonical(url: str, base: str | None) -> str:
        try:
            parts = urls._split(url, base)
        except NormaliseError:
            return "error"
        path = urls._remove_dot_segments(urls._encode(parts.path)) or "/"
        return urlunsplit(parts._replace(path=path, query=urls._query(parts.query), fragment=""))

    def answer(url: str, base: str | None, how=urls.absolute_url) -> str:
        try:
            return how(url, base)
        except NormaliseError:
            return "error"

    pick = random.Random(16)
    alphabet = [*"aZ09/?#:@!$&'()*+,;=-._~%[] \t", "..", "/.", "/..", "//", "é", ":80", "?#", "\x85", "/./"]
    heads = [
        "http://",
        "https://",
        "HTTP://",
        "/",
        "//",
        "",
        "http://a.example",
        "https://A.example",
        "http://a..b",
        "http://a.example:8080",
        "https://a.example:443",
        "http://127.0.0.1:8080",
        "http://a.example:080",
        "https://a.example:65535",
        "http://a.example:65536",
        "http://a.example:99999",
        "http://a.example:0",
    ]
    bases = [
        None, "http://h.example/feed", "https://H.example:443/a/", "http://127.0.0.1:8080/0.rss",
        "http://u:p@h.example:8080/x", "file:///tmp/x", "http://h.example./", "", "http://[::1]:99/",
    ]  # fmt: skip
    shortcuts = 0
    for _ in range(20000):
        url = pick.choice(heads) + "".join(pick.choice(alphabet) for _ in range(pick.randrange(1, 9)))
        base = pick.choice(bases)
        shortcuts += urls._fast_absolute(url, base) is not None
        assert answer(url, base) == general(url, base), (url, base)
        assert answer(url, base, urls.canonical_url) == canonical(url, base), (url, base)
    assert shortcuts > 500  # the shortcut was taken, and checked
    assert (
        urls._fast_absolute("/img/1.jpg", "http://127.0.0.1:8080/0.rss") == "http://127.0.0.1:8080/img/1.jpg"
    )
    assert (
        urls._fast_absolute("https://cdn.example/a/b.jpg?w=1#x", None) == "https://cdn.example/a/b.jpg?w=1#x"
    )
    # A port that is not the scheme's default is kept as written (the bench's loopback feed).
    assert urls._fast_absolute("http://127.0.0.1:8080/img/1.jpg", None) == "http://127.0.0.1:8080/img/1.jpg"
    assert urls._fast_absolute("https://a.example:443/x", None) is None
