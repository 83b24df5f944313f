"""require_program: a missing program skips with its install line, or fails when CI is set."""

from __future__ import annotations

import shutil

import pytest

from tests.programs import require_program

MISSING = "syndicator-no-such-program"


def test_a_present_program_gives_its_path() -> None:
    assert require_program("sh", "dash") == shutil.which("sh")


def test_another_name_counts() -> None:
    assert require_program(MISSING, "dash", aliases=("sh",)) == shutil.which("sh")


@pytest.mark.parametrize("value", [None, "", "false", "0"])
def test_missing_program_skips_with_the_install_line_outside_ci(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_program(MISSING, "syndicator-pkg")

    assert str(skipped.value) == f"{MISSING} is not installed: apt-get install -y syndicator-pkg"


@pytest.mark.parametrize("value", ["true", "1", "True"])
def test_missing_program_fails_in_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception) as failed:
        require_program(MISSING, "syndicator-pkg")

    assert str(failed.value) == f"{MISSING} is not installed: apt-get install -y syndicator-pkg"
