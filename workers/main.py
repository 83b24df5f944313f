"""Entry point for `arq workers.main.WorkerSettings`; the worker itself is `syndicator.worker`.

`WorkerSettings` is built on first access, so importing this module reads no config.
Building it waits for Redis (one line on stderr while it does), except for
`arq --check`: a health check must answer now, not once Redis is back.
"""

from __future__ import annotations

import sys
from typing import Any

from syndicator.worker import settings_from_environment


def __getattr__(name: str) -> Any:
    if name == "WorkerSettings":
        return settings_from_environment(wait="--check" not in sys.argv[1:])
    raise AttributeError(name)
