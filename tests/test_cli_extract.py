"""`syndicator extract`: what an operator checking site rules is shown (syndicator/cli_extract.py).

The command end to end (subprocess, JSON output, error exits) is in test_cli.py; here,
in-process on the seed page: a Chinese page without a source has its naive dates read in
China Standard Time unless `--timezone` says otherwise; `--source` applies that source's
time zone and category map exactly as the page jobs would; the text view says where the
date came from and which categories the article would land in.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from syndicator.cli_extract import ExtractCommandError, as_text, run_extract
from tests.builders import write_config
from tests.conftest import SITE_ZHBF

PAGE = str(SITE_ZHBF / "article-8812.gbk.html")
URL = "http://www.zhbf.example/qinggan/gushi/20231123/8812.html"
NOW = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)


def test_a_chinese_page_without_a_source_reads_dates_in_china_time():
    page, categories = run_extract(PAGE, url=URL, source_id=None, config=None, now=NOW)

    assert page.published == datetime(2023, 11, 23, tzinfo=UTC) - timedelta(hours=8)
    assert page.published.utcoffset() == timedelta(hours=8)
    assert categories == ()


def test_an_explicit_timezone_wins_over_the_guess():
    page, _ = run_extract(PAGE, url=URL, source_id=None, config=None, timezone="UTC", now=NOW)

    assert page.published == datetime(2023, 11, 23, tzinfo=UTC)


def test_a_source_applies_its_category_map_and_time_zone(tmp_path, redis_url, prefix):
    config = write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[{"slug": "qinggan", "title": "情感"}, {"slug": "qinggan/gushi", "title": "故事"}],
        sources=[
            {
                "id": "zhbf",
                "url": "http://www.zhbf.example/qinggan/gushi/",
                "kind": "listing",
                "timezone": "Asia/Tokyo",
                "category_map": {"情感/故事": "qinggan/gushi", "情感/*": "qinggan"},
            }
        ],
    )

    page, categories = run_extract(PAGE, url=URL, source_id="zhbf", config=config, now=NOW)

    assert categories == ("qinggan/gushi",)
    assert page.published.utcoffset() == timedelta(hours=9)  # the source's zone, not a guess
    text = as_text(page, categories)
    assert "breadcrumb: 情感 > 故事" in text
    assert "categories: qinggan/gushi" in text
    assert "published:  2023-11-23T00:00:00+09:00 (date, from url)" in text

    with pytest.raises(ExtractCommandError, match=r"unknown source 'zhbf2' \(known: zhbf\)"):
        run_extract(PAGE, url=URL, source_id="zhbf2", config=config)


def test_a_page_without_a_date_says_what_will_be_used(tmp_path):
    plain = tmp_path / "post.html"
    plain.write_text(
        "<html><head><title>A post</title></head><body><article><h1>A post</h1>"
        + "<p>A paragraph long enough to be the body of this little article, and more.</p>" * 3
        + "</article></body></html>"
    )

    page, categories = run_extract(
        str(plain), url="https://blog.example/post", source_id=None, config=None, now=NOW
    )

    assert page.published is None
    text = as_text(page, categories)
    assert "published:  none found (first-seen time will be used)" in text
    assert "categories: (all only)" in text
    assert "  1. A paragraph long enough" in text
