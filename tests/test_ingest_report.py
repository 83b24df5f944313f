"""What an ingest pass says about itself (syndicator/ingest/report.py).

`line()` is what the job log and `syndicator ingest` print; `last_status` is what an
operator reads in the source's state. Both must name the counts in words, say a 304 is a
304, and carry the error text; a failed fetch must say whether a retry can help.
"""

from __future__ import annotations

from syndicator.fetch import FetchError
from syndicator.ingest.report import IngestReport, failed, not_modified, summarise_counts
from syndicator.models import Validators

URL = "https://upstream.example/feed.rss"


def test_counts_are_named_sorted_and_zeroes_left_out():
    assert summarise_counts({"new": 3, "changed": 1, "unchanged": 0}) == "1 changed, 3 new"
    assert summarise_counts({"unchanged": 0}) == "no entries"
    assert summarise_counts({}) == "no entries"


def test_an_update_reports_counts_and_warnings():
    report = IngestReport(
        "blog",
        URL,
        "updated",
        counts={"new": 2, "unchanged": 5},
        warnings=("entry 3: no date", "entry 4: no link"),
        http_status=200,
    )

    assert report.line() == "blog: 2 new, 5 unchanged; 2 warning(s): entry 3: no date; entry 4: no link"
    assert report.last_status == "200 ok: 2 new, 5 unchanged"


def test_an_update_with_nothing_stored_says_so():
    report = IngestReport("blog", URL, "updated", http_status=200)

    assert report.line() == "blog: no entries"
    assert report.last_status == "200 ok: no entries"


def test_not_modified_keeps_the_validators_and_the_last_warnings():
    validators = Validators(etag='"abc"', last_modified="Fri, 20 Nov 2026 08:00:00 GMT")
    report = not_modified("blog", URL, validators, kept_warnings=("entry 3: no date",))

    assert report.line() == "blog: not modified (304)"
    assert report.last_status == "304 not modified"
    assert (report.http_status, report.validators, report.warnings) == (
        304,
        validators,
        ("entry 3: no date",),
    )


def test_a_retryable_fetch_failure_carries_retry_after():
    error = FetchError("blog", URL, "HTTP 503", status=503, retryable=True, retry_after=120.0)
    report = failed("blog", URL, str(error), fetch=error)

    assert report.line() == f"source blog ({URL}): HTTP 503"  # the source and URL once
    assert report.error == f"blog: {URL}: HTTP 503"  # the source's last_error
    assert report.last_status == "error"
    assert (report.retryable, report.retry_after) == (True, 120.0)


def test_a_failure_without_a_fetch_error_is_not_retried():
    report = failed("blog", URL, "no feed: the document is HTML", from_listing=True)

    assert report.line() == f"source blog ({URL}): no feed: the document is HTML"
    assert (report.retryable, report.retry_after, report.from_listing) == (False, None, True)
