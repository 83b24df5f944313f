"""The operate layer: the one way to do each operator action, for the admin API and the CLI.

Health (`health.py`), re-ingest (`reingest.py`), pause/resume and re-render
(`control.py`), runs (`runs.py`), the queue (`queue.py`) and a source's timeline and articles
(`timeline.py`). Every function takes the
process's `Runtime`; unknown ids raise one `OperateError` subclass per case
(`errors.py`), which the API maps to 404 and the CLI to one line.
"""

from syndicator.operate.control import RerenderResult, pause, rerender, resume
from syndicator.operate.enqueue import enqueue_ingest
from syndicator.operate.errors import (
    NoQueue,
    OperateError,
    UnknownCategory,
    UnknownRun,
    UnknownSource,
    UnknownState,
)
from syndicator.operate.health import STATES, SourceHealth, list_health, source_health
from syndicator.operate.queue import QueueStatus, queue_depth, queue_status
from syndicator.operate.reingest import ReingestResult, Selection, reingest, select_sources
from syndicator.operate.runs import get_run, source_runs
from syndicator.operate.timeline import ArticleSummary, source_articles, source_fetches

__all__ = [
    "STATES",
    "ArticleSummary",
    "NoQueue",
    "OperateError",
    "QueueStatus",
    "ReingestResult",
    "RerenderResult",
    "Selection",
    "SourceHealth",
    "UnknownCategory",
    "UnknownRun",
    "UnknownSource",
    "UnknownState",
    "enqueue_ingest",
    "get_run",
    "list_health",
    "pause",
    "queue_depth",
    "queue_status",
    "reingest",
    "rerender",
    "resume",
    "select_sources",
    "source_articles",
    "source_fetches",
    "source_health",
    "source_runs",
]
