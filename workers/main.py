"""Entry point for `arq workers.main.WorkerSettings`; the worker itself is `syndicator.worker`.

`WorkerSettings` is built on first access, so importing this module reads no config.
"""

from __future__ import annotations

from typing import Any

from syndicator.worker import settings_from_environment


def __getattr__(name: str) -> Any:
    if name == "WorkerSettings":
        return settings_from_environment()
    raise AttributeError(name)
