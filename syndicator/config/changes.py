"""What a reloaded configuration changes, and which of it a running process can apply.

A running process keeps its Redis connection, key prefix, queue, listening address and
data directory for life, and its arq worker bakes the job timeout, the number of tries
and the schedule interval into its settings when it starts; a reload that changes any of
those is reported as "needs restart" and the running value is kept. Everything else —
sources, categories, fetch limits, the public URL, retention — is applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from syndicator.models import Config

RESTART_KEYS = (
    "redis_url",
    "queue_url",
    "store_url",
    "redis_prefix",
    "queue_name",
    "host",
    "port",
    "keepalive_timeout",
    "data_dir",
    "job_timeout",
    "max_tries",
    "schedule_every",
)
"""`[server]` keys a running process cannot change: connections, socket, worker settings."""


@dataclass(frozen=True)
class ConfigChange:
    """The configuration to run from now on, and how it differs from the one running."""

    config: Config
    added_sources: tuple[str, ...] = ()
    removed_sources: tuple[str, ...] = ()
    changed_sources: tuple[str, ...] = ()
    added_categories: tuple[str, ...] = ()
    removed_categories: tuple[str, ...] = ()
    changed_categories: tuple[str, ...] = ()
    fetch_changed: bool = False
    settings_changed: tuple[str, ...] = ()  # applied `[server]` keys (public_url, …)
    needs_restart: tuple[str, ...] = ()  # "server.port (8080 → 9090)": kept as running
    # `[filters]` changed: the next ingest of each source applies the new rules (nothing
    # else to do, so it is not in `applies_anything`; a source's own rules are its change).
    filters_changed: bool = False

    @property
    def applies_anything(self) -> bool:
        return bool(
            self.added_sources
            or self.removed_sources
            or self.changed_sources
            or self.added_categories
            or self.removed_categories
            or self.changed_categories
            or self.fetch_changed
            or self.settings_changed
        )

    def summary(self) -> str:
        """One line for the log: what was applied, and what waits for a restart."""
        parts = [
            f"{label}: {', '.join(names)}"
            for label, names in (
                ("sources added", self.added_sources),
                ("sources removed", self.removed_sources),
                ("sources changed", self.changed_sources),
                ("categories added", self.added_categories),
                ("categories removed", self.removed_categories),
                ("categories changed", self.changed_categories),
                ("server settings changed", self.settings_changed),
            )
            if names
        ]
        if self.fetch_changed:
            parts.append("fetch limits changed")
        if self.filters_changed:
            parts.append("filters changed")
        line = "; ".join(parts) or "nothing changed"
        if self.needs_restart:
            line += f"; needs restart, not applied: {', '.join(self.needs_restart)}"
        return line


def _compare(old: Mapping[str, object], new: Mapping[str, object]) -> tuple[tuple[str, ...], ...]:
    added = tuple(k for k in new if k not in old)
    removed = tuple(k for k in old if k not in new)
    changed = tuple(k for k in new if k in old and new[k] != old[k])
    return added, removed, changed


def plan_change(running: Config, loaded: Config) -> ConfigChange:
    """`loaded`, with the running value of every restart-only setting, and what differs."""
    kept = {key: getattr(running.settings, key) for key in RESTART_KEYS}
    needs_restart = tuple(
        f"server.{key} ({kept[key]!r} → {getattr(loaded.settings, key)!r})"
        for key in RESTART_KEYS
        if getattr(loaded.settings, key) != kept[key]
    )
    config = replace(loaded, settings=replace(loaded.settings, **kept))
    added_sources, removed_sources, changed_sources = _compare(running.sources, config.sources)
    added_categories, removed_categories, changed_categories = _compare(running.categories, config.categories)
    settings_changed = tuple(
        f"server.{name}"
        for name in (f.name for f in fields(config.settings))
        if getattr(config.settings, name) != getattr(running.settings, name)
    )
    return ConfigChange(
        config,
        added_sources=added_sources,
        removed_sources=removed_sources,
        changed_sources=changed_sources,
        added_categories=added_categories,
        removed_categories=removed_categories,
        changed_categories=changed_categories,
        fetch_changed=running.fetch != config.fetch,
        settings_changed=settings_changed,
        needs_restart=needs_restart,
        filters_changed=running.filters != config.filters,
    )
