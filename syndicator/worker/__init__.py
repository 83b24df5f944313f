"""The arq worker: settings (`settings.py`), the source jobs (`jobs.py`), the scheduler (`schedule.py`).

The library side of the worker, so `syndicator worker`/`serve` and the
`arq workers.main.WorkerSettings` entry point build the same worker from one place.
"""

from syndicator.worker.settings import settings_from_environment, worker_settings

__all__ = ["settings_from_environment", "worker_settings"]
