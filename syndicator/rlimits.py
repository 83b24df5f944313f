"""The open-file limit, raised to what the system allows before a process serves or works.

Each client connection, upstream fetch and Redis connection holds a file descriptor. Many
systems start processes with a soft `RLIMIT_NOFILE` of 1,024 under a hard limit a hundred
times larger, and a server at the soft limit refuses every new connection (`accept` fails
with EMFILE) while idle ones are still open. Any process may raise its soft limit up to
its hard limit without privileges, so `serve`, `web` and `worker` do so at start.
"""

from __future__ import annotations

import logging
import resource
from pathlib import Path

log = logging.getLogger(__name__)

_NR_OPEN = Path("/proc/sys/fs/nr_open")  # Linux: the most a hard limit of "unlimited" allows


def raise_open_files_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; the soft limit now in force.

    A hard limit of RLIM_INFINITY cannot be the soft value on Linux (EPERM above
    `fs.nr_open`), so that case uses `fs.nr_open`. A refusal is logged, never fatal: the
    process still runs, with fewer connections.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard
    if hard == resource.RLIM_INFINITY:
        try:
            target = int(_NR_OPEN.read_text().strip())
        except (OSError, ValueError):
            return soft
    if soft != resource.RLIM_INFINITY and soft >= target:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (OSError, ValueError) as exc:
        log.warning("could not raise the open-file limit from %d to %d: %s", soft, target, exc)
        return soft
    return target
