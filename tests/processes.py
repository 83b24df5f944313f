"""Real `syndicator` processes for the tests: one CLI run, or a free port for a server.

Every test that starts the command line goes through here, so each gets the same clean
environment: the caller's `SYNDICATOR_*` variables removed (a developer's shell must not
change what a test sees), then exactly what the test names.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Human log lines (the terminal's format), as the tests read stderr line by line; a test
# of the JSON format asks for it in `extra`. (Without it, a captured stderr is no terminal,
# so the process would write JSON.)
LOG_FORMAT = {"SYNDICATOR_LOG_FORMAT": "human"}


def clean_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without `SYNDICATOR_*`, plus human log lines and `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATOR_")}
    return env | LOG_FORMAT | (extra or {})


def store_environment(redis_url: str, prefix: str) -> dict[str, str]:
    """The test's Redis with its own key prefix and queue (and a public URL, which `web` and
    `worker` need with an external Redis)."""
    return {
        "SYNDICATOR_REDIS_URL": redis_url,
        "SYNDICATOR_REDIS_PREFIX": prefix,
        "SYNDICATOR_QUEUE_NAME": f"{prefix}queue",
        "SYNDICATOR_PUBLIC_URL": "http://feeds.test/",
    }


def run_cli(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`syndicator ARGS` run to completion in `cwd`, with `env` over a clean environment."""
    return subprocess.run(
        [sys.executable, "-m", "syndicator.cli", *args],
        cwd=cwd,
        env=clean_environment(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
