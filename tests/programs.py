"""Programs that tests need but pip cannot install: skip on a laptop, fail in CI.

`.ci/run` installs them with apt-get and sets CI=true, so there a missing program is a
broken CI image, not a reason to skip. Elsewhere the skip reason is the exact line that
installs it.
"""

from __future__ import annotations

import os
import shutil

import pytest


def in_ci() -> bool:
    """Whether CI is set to something true (CI systems set CI=true)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_program(name: str, package: str, *, aliases: tuple[str, ...] = ()) -> str:
    """The path of `name` (or of one of its other names); otherwise skip, or fail under CI."""
    for candidate in (name, *aliases):
        found = shutil.which(candidate)
        if found:
            return found
    reason = f"{name} is not installed: apt-get install -y {package}"
    if in_ci():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)
