"""The soak benchmark's own logic (bench/soak.py): its verdict, table and log counting.

No soak runs here: these pin the arithmetic that turns memory samples into the verdict the
README quotes, so a wrong baseline or rule cannot call a growing process flat.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.soak import (
    FLAT_MB,
    AccessLogCounter,
    BenchError,
    Sample,
    baseline_seconds,
    lua_table,
    table_rows,
    verdict,
)

MB = 2**20


def run(*rss_mb: float, every: float = 10.0) -> list[Sample]:
    return [Sample(n * every, int(mb * MB), n * 100) for n, mb in enumerate(rss_mb)]


def test_growth_is_measured_from_minute_two_not_from_the_start() -> None:
    # 60 samples, 10 s apart: warm-up growth (100 → 140 MB) in the first two minutes, then flat.
    samples = run(*(100 + 2 * n for n in range(12)), 140, *([141.0] * 48))
    result = verdict(samples, run_seconds=600)
    assert result.baseline.seconds == 120
    assert result.baseline.rss_bytes == 140 * MB
    assert result.end.rss_bytes == 141 * MB
    assert round(result.growth_mb, 3) == 1.0
    assert result.flat
    assert "FLAT" in result.line() and "+1.0 MB" in result.line()


def test_steady_growth_after_warm_up_is_not_flat() -> None:
    samples = run(*([140.0] * 13), *(140 + 0.5 * n for n in range(1, 48)))  # +23.5 MB in 8 minutes
    result = verdict(samples, run_seconds=600)
    assert not result.flat
    assert result.growth_mb == pytest.approx(23.5)
    assert "GROWING" in result.line()


def test_both_bounds_must_hold() -> None:
    # Under 5 % of a big process but more than FLAT_MB: growing.
    big = verdict(run(1000, 1000, 1000, 1000 + FLAT_MB + 1), run_seconds=40)
    assert big.growth_percent < 5 and not big.flat
    # Under FLAT_MB but more than 5 % of a small process: growing.
    small = verdict(run(40, 40, 40, 43), run_seconds=40)
    assert small.growth_mb < FLAT_MB and not small.flat


def test_a_short_run_takes_a_quarter_of_it_as_the_baseline() -> None:
    assert baseline_seconds(60) == 15
    assert baseline_seconds(600) == 120
    samples = run(100, 120, 121, 121, 121, 122, 122)  # --quick: 0..60 s
    assert verdict(samples, run_seconds=60).baseline.seconds == 20


def test_too_few_samples_is_an_error_not_a_verdict() -> None:
    with pytest.raises(BenchError):
        verdict(run(100), run_seconds=60)


def test_table_has_one_row_a_minute_and_the_last_sample() -> None:
    samples = run(*range(100, 161), every=10.0)[1:]  # 10 s … 600 s
    rows = table_rows(samples)
    assert [row.seconds for row in rows] == [10, *range(60, 601, 60)]
    assert rows[-1].rss_bytes == 160 * MB
    late = [Sample(s.seconds + 0.3, s.rss_bytes, s.requests) for s in samples[:-1]]  # sampled late
    assert [row.seconds for row in table_rows(late)][1:3] == [60.3, 120.3]
    assert table_rows(late)[-1].seconds == 590.3


def test_access_log_counter_reads_only_complete_new_lines(tmp_path: Path) -> None:
    log = tmp_path / "web.log"
    line = '{{"time": "t", "event": "http_request", "outcome": "{0}", "status": {0}, "bytes": 1}}\n'
    log.write_text("serving feeds\n" + line.format(200) + line.format(304) + line.format(404)[:20])
    counter = AccessLogCounter(log)
    assert counter.update() == 2
    with log.open("a") as file:
        file.write(line.format(404)[20:] + line.format(304))
    assert counter.update() == 4
    assert counter.statuses == {200: 1, 304: 2, 404: 1}


def test_lua_table_quotes_strings() -> None:
    assert (
        lua_table({"path": '/a?q="x"', "n": 3, "on": True})
        == '{["path"] = "/a?q=\\"x\\"", ["n"] = 3, ["on"] = true}'
    )
