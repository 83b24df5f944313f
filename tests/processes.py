"""Real `syndicator` processes for the tests: one CLI run (in a pipe, or on a terminal), or a
free port for a server.

Every test that starts the command line goes through here, so each gets the same clean
environment: the caller's `SYNDICATOR_*` variables removed (a developer's shell must not
change what a test sees), then exactly what the test names.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
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


@dataclass(frozen=True)
class TerminalRun:
    """A finished CLI run whose stdout was a terminal: `screen` is what the terminal got,
    its `\r\n` line ends read back as `\n` (a lone `\r` and escape sequences are kept)."""

    returncode: int
    screen: str
    stderr: str


def run_cli_on_a_terminal(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None, timeout: float = 120
) -> TerminalRun:
    """`syndicator ARGS` with stdout on a pseudo-terminal, as an operator's shell has it (the
    aligned tables and progress lines are only written there); stderr captured apart."""
    controller, terminal = os.openpty()
    received: list[bytes] = []

    def drain() -> None:  # until the process (the terminal's last writer) has closed it: EIO
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                return
            if not chunk:
                return
            received.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "syndicator.cli", *args],
            cwd=cwd,
            env=clean_environment(env),
            stdin=subprocess.DEVNULL,
            stdout=terminal,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.close(terminal)
        terminal = -1
        reader.start()
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
        reader.join(timeout)
    finally:
        if terminal != -1:
            os.close(terminal)
        os.close(controller)
    screen = b"".join(received).decode("utf-8", "replace").replace("\r\n", "\n")
    return TerminalRun(process.returncode, screen, stderr)
