"""parse_query (syndicator/web/query.py): a feed URL's `?limit=&since=&q=&tag=&own=`.

Two things matter to users: equivalent URLs normalise to one query (one cached variant,
one canonical feed_url), and every bad parameter gets a message that names it and says
what would be accepted — that message is the body of the 400 they see
(tests/test_filters.py checks it arrives over HTTP).
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl

import pytest

from syndicator.errors import SyndicatorError
from syndicator.web import query as query_module
from syndicator.web.negotiation import choose_coding
from syndicator.web.query import FeedQuery, QueryError, parse_query, parse_query_string
from tests.builders import make_article

EXPECTED_SINCE = (
    "since: expected RFC 3339 with a zone (2026-11-20T08:00:00Z), a date (2026-11-20) or Unix seconds"
)
OWN_MEANING = "only articles filed directly under the category, not its children"


def parsed(query: str) -> FeedQuery:
    """Parse a raw query string the way aiohttp decodes it (repeats kept, + as space)."""
    return parse_query(parse_qsl(query, keep_blank_values=True))


def refusal(query: str) -> str:
    with pytest.raises(QueryError) as caught:
        parsed(query)
    return str(caught.value)


# ---------------------------------------------------------------- valid queries


def test_no_parameters_is_the_plain_feed() -> None:
    query = parse_query([])

    assert query == FeedQuery() and query.is_empty and not query.filters
    assert query.query_string() == ""


def test_every_parameter_normalised() -> None:
    query = parsed(
        "limit=%2025%20&q=%20Rust%20%20RUST%20async&since=2026-11-20&tag=Policy&tag=tech/&tag=policy"
    )

    assert query == FeedQuery(
        limit=25,
        since=datetime(2026, 11, 20, tzinfo=UTC),
        q="rust async",  # folded, single-spaced, repeated terms once
        tags=("policy", "tech"),  # folded, trailing slash gone, sorted, unique
    )
    assert query.query_string() == "limit=25&q=rust%20async&since=2026-11-20T00:00:00Z&tag=policy&tag=tech"
    assert query.describe() == "“rust async”, tag policy | tech, since 2026-11-20T00:00:00Z"


def test_equivalent_urls_give_one_query() -> None:
    a = parsed("tag=B&tag=a&q=Trust")
    b = parsed("q=%20trust%20&tag=A&tag=b")

    assert a == b and hash(a) == hash(b) and a.query_string() == b.query_string()


def test_own_is_a_filter_with_a_canonical_place_in_the_url() -> None:
    query = parsed("tag=Policy&own=1&limit=5")

    assert query == FeedQuery(limit=5, tags=("policy",), own=True)
    assert query.filters and not query.is_empty
    assert query.query_string() == "limit=5&own=1&tag=policy"
    assert query.describe() == "own articles only, tag policy"
    assert parsed("own=%201%20") == FeedQuery(own=True)


def test_own_selects_articles_filed_directly_under_the_category_read() -> None:
    own = FeedQuery(own=True)
    parent, child, both = (
        make_article(1, "tech"),
        make_article(2, "tech/python"),
        make_article(3, "tech", "tech/python"),
    )
    uncategorised = make_article(4)

    assert [a.title for a in (parent, child, both) if own.selects(a, "tech")] == ["Article 1", "Article 3"]
    assert [a.title for a in (parent, child, both) if own.selects(a, "tech/python")] == [
        "Article 2",
        "Article 3",
    ]
    assert own.selects(uncategorised, "all") and not own.selects(parent, "all")
    assert FeedQuery().selects(child, "tech")  # without own the parent's index is the answer
    assert not FeedQuery(own=True, q="nothing").selects(parent, "tech")  # the other filters still apply


def test_full_width_and_case_are_folded() -> None:
    assert parsed("q=ＲＵＳＴ").q == "rust"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-20T08:00:00Z", datetime(2026, 11, 20, 8, tzinfo=UTC)),
        ("2026-11-20t08:00:00z", datetime(2026, 11, 20, 8, tzinfo=UTC)),
        ("2026-11-20T16:00:00%2B08:00", datetime(2026, 11, 20, 8, tzinfo=UTC)),
        # An unencoded + arrives as a space; it is read as the + it was.
        ("2026-11-20T16:00:00+08:00", datetime(2026, 11, 20, 8, tzinfo=UTC)),
        ("2026-11-20T03:00:00-05:00", datetime(2026, 11, 20, 8, tzinfo=UTC)),
        ("2026-11-20 08:00:00.123456789Z", datetime(2026, 11, 20, 8, 0, 0, 123456, tzinfo=UTC)),
        ("2026-11-20", datetime(2026, 11, 20, tzinfo=UTC)),
        ("1795161600", datetime(2026, 11, 20, 8, tzinfo=UTC)),
    ],
)
def test_since_forms(raw: str, expected: datetime) -> None:
    since = parsed(f"since={raw}").since

    assert since == expected and since.tzinfo is UTC


@pytest.mark.parametrize("limit", ["1", "500", "007"])
def test_limit_bounds_are_inclusive(limit: str) -> None:
    assert parsed(f"limit={limit}").limit == int(limit)


def test_twenty_distinct_tags_are_allowed_and_duplicates_count_once() -> None:
    tags = "&".join(f"tag=t{i}&tag=T{i}" for i in range(20))

    assert len(parsed(tags).tags) == 20


# ---------------------------------------------------------------- every refusal a user can get


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limt=5", "limt: unknown parameter 'limt'; a feed takes only limit, since, q, exclude, tag and own"),
        (
            "x=1&_=123",
            "parameters: unknown parameters '_', 'x'; "
            "a feed takes only limit, since, q, exclude, tag and own",
        ),
        ("limit=5&limit=6", "limit: given 2 times; give it at most once"),
        ("since=2026-11-20&since=2026-11-21&since=1", "since: given 3 times; give it at most once"),
        ("q=a&q=b", "q: given 2 times; give it at most once"),
        ("own=1&own=1", "own: given 2 times; give it at most once"),
        ("own=2", f"own: must be 1 ({OWN_MEANING}), got '2'"),
        ("own=0", f"own: must be 1 ({OWN_MEANING}), got '0'"),
        ("own=true", f"own: must be 1 ({OWN_MEANING}), got 'true'"),
        ("own=", f"own: must be 1 ({OWN_MEANING}), got ''"),
        ("limit=abc", "limit: must be an integer from 1 to 500, got 'abc'"),
        ("limit=0", "limit: must be an integer from 1 to 500, got '0'"),
        ("limit=501", "limit: must be an integer from 1 to 500, got '501'"),
        ("limit=-1", "limit: must be an integer from 1 to 500, got '-1'"),
        ("limit=", "limit: must be an integer from 1 to 500, got ''"),
        ("limit=2.5", "limit: must be an integer from 1 to 500, got '2.5'"),
        ("limit=%EF%BC%95", "limit: write numbers in ASCII digits 0-9, got '５'"),  # full-width 5
        ("limit=1%D9%A5", "limit: write numbers in ASCII digits 0-9, got '1٥'"),  # Arabic-Indic 5
        ("since=%EF%BC%91%EF%BC%92", "since: write numbers in ASCII digits 0-9, got '１２'"),
        ("since=２０２６-11-20", "since: write numbers in ASCII digits 0-9, got '２０２６-11-20'"),
        ("since=yesterday", f"{EXPECTED_SINCE}, got 'yesterday'"),
        ("since=", f"{EXPECTED_SINCE}, got ''"),
        ("since=2026-11-20T08:00:00", "since: '2026-11-20T08:00:00' has no time zone; add Z or ±hh:mm"),
        ("since=2026-11-20T08:00", "since: '2026-11-20T08:00' has no time zone; add Z or ±hh:mm"),
        ("since=2026-02-30", f"since: not a valid date or time: '2026-02-30'; {EXPECTED_SINCE[7:]}"),
        (
            "since=2026-11-20T25:00:00Z",
            f"since: not a valid date or time: '2026-11-20T25:00:00Z'; {EXPECTED_SINCE[7:]}",
        ),
        (
            "since=999999999999",
            f"since: not a valid date or time: '999999999999'; {EXPECTED_SINCE[7:]}",
        ),
        ("q=", "q: must contain at least one search term"),
        ("q=%20%09", "q: must contain at least one search term"),
        ("q=" + "a" * 201, "q: at most 200 characters, got 201"),
        ("tag=", "tag: must not be empty"),
        ("tag=%2F%2F", "tag: must not be empty"),
        ("tag=" + "t" * 101, "tag: at most 100 characters, got 101"),
        ("&".join(f"tag=t{i}" for i in range(21)), "tag: at most 20 tags, got 21"),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(query: str, message: str) -> None:
    assert refusal(query) == message


def test_a_refusal_names_its_parameter_and_is_a_syndicator_error() -> None:
    with pytest.raises(QueryError) as caught:
        parsed("limit=0")

    assert caught.value.parameter == "limit"
    assert isinstance(caught.value, SyndicatorError) and isinstance(caught.value, ValueError)


def test_a_bad_parameter_is_refused_even_beside_good_ones() -> None:
    assert refusal("q=rust&tag=tech&limit=9999").startswith("limit: ")


def test_exclude_is_normalised_like_q_and_matches_any_word():
    query = parse_query([("exclude", "  Sponsored   广告 sponsored "), ("q", "News")])
    assert query.exclude == "sponsored 广告"
    assert query.query_string() == "exclude=sponsored%20%E5%B9%BF%E5%91%8A&q=news"
    assert query.filters and "without “sponsored 广告”" in query.describe()
    assert parse_query([("exclude", "SPONSORED 广告")]) == parse_query([("exclude", "sponsored  广告")])
    with pytest.raises(QueryError, match=r"^exclude: must contain at least one word to exclude$"):
        parse_query([("exclude", " ")])


# ---------------------------------------------------------------- memory bounds (issue 16)


def test_ten_thousand_distinct_query_strings_stay_within_the_memo_cap() -> None:
    """A crawler of unique `?q=` URLs only costs the parse: the memo of parsed query
    strings stops at MAX_REMEMBERED, and what it remembered first is still answered."""
    query_module._parsed.clear()  # what earlier tests in this process parsed
    first = parse_query_string("q=first-reader", lambda: parse_qsl("q=first-reader"))
    for n in range(10_000):
        raw = f"q=crawl{n}&limit={n % 500 + 1}"
        parse_query_string(raw, lambda raw=raw: parse_qsl(raw))
    assert len(query_module._parsed) <= query_module.MAX_REMEMBERED
    assert parse_query_string("q=first-reader", lambda: []) is first  # from the memo: no parse


def test_ten_thousand_distinct_accept_encodings_stay_within_the_cache_cap() -> None:
    for n in range(10_000):
        choose_coding(f"gzip;q=0.{n % 9 + 1}, x-custom-{n}")
    info = choose_coding.cache_info()
    assert info.currsize <= info.maxsize == 512
