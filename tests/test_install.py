"""The README's first command, as a newcomer runs it: clone, new venv, install, serve.

Slow (it installs every dependency into a new virtual environment); CI runs it.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request

import feedparser
import pytest

from tests.conftest import REPO
from tests.processes import free_port


def readme_commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", (REPO / "README.md").read_text(), flags=re.S)


def test_readme_has_exactly_two_setup_commands_at_the_top():
    text = (REPO / "README.md").read_text()
    first_rule = text.index("\n---\n")
    top = readme_commands()[:2]
    assert len(re.findall(r"```sh\n", text[:first_rule])) == 2
    assert "syndicator serve" in top[0] and "pytest" in top[1]
    assert all(c.startswith("python3 -m venv .venv") for c in top)  # PEP 668: always a venv


@pytest.mark.slow
def test_first_command_serves_feeds_from_a_fresh_clone(tmp_path, tmp_path_factory):
    # Directly in the session's temporary folder: the embedded Redis's unix socket inside
    # the clone must stay under ~100 bytes, and pytest-xdist adds a level (popen-gwN).
    clone = tmp_path_factory.mktemp("clone")
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True, timeout=120)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SYNDICATOR_", "VIRTUAL_ENV"))}
    env["SYNDICATOR_PORT"] = str(port)
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        ["bash", "-c", readme_commands()[0]],
        cwd=clone,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 600
        body = b""
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/feeds/all.rss", timeout=5) as resp:
                    body = resp.read()
                if feedparser.parse(body).entries:
                    break
            except OSError:
                pass
            time.sleep(1)
        output = (tmp_path / "serve.log").read_text(errors="replace")
        assert process.poll() is None, f"serve exited early:\n{output[-3000:]}"
        parsed = feedparser.parse(body)
        assert not parsed.bozo and len(parsed.entries) >= 10, output[-3000:]
        assert "embedded Redis: data in" in output
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
    # The embedded Redis went down with it: nothing answers on its socket any more.
    sock = clone / ".syndicator-data" / "redis.sock"
    with socket.socket(socket.AF_UNIX) as s, pytest.raises(OSError):
        s.connect(str(sock))
