"""`syndicator web --processes N`: N web processes answering on one port.

One Python process serves on one core; a machine with more cores serves more with more
processes. Each of the N is an ordinary `syndicator web` (started again with the same
arguments) that binds the port with SO_REUSEPORT, so the kernel spreads connections over
them; nothing is shared but Redis. Each keeps its own memory feed cache, made current by
the publish announcements it subscribes to (feedcache.py), exactly as separate `web`
processes behind a load balancer would.

This process only supervises: it prints one line saying what runs, forwards SIGTERM and
SIGINT (stop) and SIGHUP (reload the configuration) to every member, and when one member
exits on its own it stops the others and exits with that member's status, so a service
manager sees one unit fail and restarts the group.

Metrics: the members record into a prometheus-client multiprocess directory
(`PROMETHEUS_MULTIPROC_DIR`) so that any member's `/metrics` adds up all of them. The
operator's directory is used when set (emptying it before a restart is theirs to do, as for
any multiprocess setup); otherwise a private one is made and removed at exit.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from types import FrameType

from syndicator.metrics import MULTIPROC_ENV

# Added to a member's arguments: serve with SO_REUSEPORT, print no configuration line.
MEMBER_FLAG = "--group-member"
POLL_SECONDS = 0.2
STOP_WAIT = 30.0


def run_group(argv: Sequence[str], processes: int, listening: str) -> int:
    """Run `processes` members of `syndicator web` with `argv`; the first status that is not
    a requested stop (or 0 after a SIGTERM/SIGINT) is returned."""
    env = dict(os.environ)
    private_dir = None
    if not env.get(MULTIPROC_ENV):
        private_dir = tempfile.mkdtemp(prefix="syndicator-metrics-")
        env[MULTIPROC_ENV] = private_dir
    command = [sys.executable, "-m", "syndicator.cli", *argv, "--processes", "1", MEMBER_FLAG]
    members = [subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL) for _ in range(processes)]
    stopping: list[signal.Signals] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        sig = signal.Signals(signum)
        if sig in (signal.SIGTERM, signal.SIGINT):
            stopping.append(sig)
            sig = signal.SIGTERM
        for member in members:
            if member.poll() is None:
                member.send_signal(sig)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    print(
        f"web: {processes} processes on {listening} (SO_REUSEPORT), pids "
        f"{' '.join(str(m.pid) for m in members)}; metrics added up in {env[MULTIPROC_ENV]}",
        file=sys.stderr,
        flush=True,
    )
    try:
        status = _supervise(members, stopping)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if private_dir is not None:
            shutil.rmtree(private_dir, ignore_errors=True)
    return status


def _supervise(members: list[subprocess.Popen[bytes]], stopping: list[signal.Signals]) -> int:
    while not stopping:
        exited = [m for m in members if m.poll() is not None]
        if exited:
            print(
                f"web: process {exited[0].pid} exited ({exited[0].returncode}); stopping the others",
                file=sys.stderr,
                flush=True,
            )
            for member in members:
                if member.poll() is None:
                    member.send_signal(signal.SIGTERM)
            _wait_all(members)
            return exited[0].returncode or 1
        time.sleep(POLL_SECONDS)
    return max(_wait_all(members), default=0)


def _wait_all(members: list[subprocess.Popen[bytes]]) -> list[int]:
    deadline = time.monotonic() + STOP_WAIT
    codes = []
    for member in members:
        try:
            codes.append(member.wait(timeout=max(0.1, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            member.kill()
            codes.append(member.wait())
    return codes
