"""The configuration schema: which keys each table takes and how each value is checked.

`Loader` walks the parsed TOML tree and builds `syndicator.models.Config`, raising
`ConfigError` with the exact key of the first problem (`sources[2].url`). Value parsing
lives in `config_values`; finding and reading the file lives in `config`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from syndicator import config_values as v
from syndicator.config_values import BadValue
from syndicator.errors import SyndicatorError
from syndicator.models import (
    ALL_CATEGORY,
    Category,
    CategoryRule,
    Config,
    FetchLimits,
    Settings,
    SiteRules,
    Source,
)


class ConfigError(SyndicatorError):
    """A configuration problem; `str(err)` is one line: `{path}: {key}: {problem}`."""

    def __init__(self, path: str | Path, key: str, problem: str) -> None:
        self.path = str(path)
        self.key = key
        self.problem = " ".join(problem.splitlines())
        super().__init__(f"{self.path}: {self.key}: {self.problem}")


# ---------------------------------------------------------------- schema

_SERVER_KEYS = (
    "redis_url", "redis_prefix", "queue_name", "public_url", "data_dir", "host", "port",
    "job_timeout", "max_tries", "schedule_every", "evicted_memory",
)  # fmt: skip
_FETCH_KEYS = (
    "connect_timeout", "read_timeout", "total_timeout", "max_bytes", "max_redirects",
    "max_entries", "allowed_networks", "user_agent",
)  # fmt: skip
_CATEGORY_KEYS = (
    "slug", "title", "description", "language", "items_per_feed", "retention_count",
    "retention_age",
)  # fmt: skip
_ALL_KEYS = tuple(k for k in _CATEGORY_KEYS if k != "slug")
_SOURCE_KEYS = (
    "id", "url", "kind", "categories", "title", "poll_interval", "timezone", "enabled",
    "allow_private_network", "category_map", "default_category", "rules", "max_depth",
    "max_pages", "crawl_delay", "host_concurrency",
)  # fmt: skip
_RULE_KEYS = ("title", "body", "date", "category", "drop")
_TOP_KEYS = ("server", "fetch", "all", "categories", "sources")
_SOURCE_KINDS = ("feed", "page", "listing", "sitemap")

# Environment variable → (Settings field, parser). Each value is text, parsed like the file's.
_ENV_OVERRIDES: dict[str, tuple[str, Callable[[object], Any]]] = {
    "SYNDICATOR_REDIS_URL": ("redis_url", v.parse_redis_url),
    "SYNDICATOR_REDIS_PREFIX": ("redis_prefix", v.expect_nonempty_str),
    "SYNDICATOR_QUEUE_NAME": ("queue_name", v.expect_nonempty_str),
    "SYNDICATOR_PUBLIC_URL": ("public_url", v.parse_public_url),
    "SYNDICATOR_DATA_DIR": ("data_dir", v.expect_nonempty_str),
    "SYNDICATOR_HOST": ("host", v.expect_nonempty_str),
    "SYNDICATOR_PORT": ("port", v.env_int(v.expect_port)),
    "SYNDICATOR_JOB_TIMEOUT": ("job_timeout", lambda x: v.parse_duration(x).total_seconds()),
}


def _seconds(value: object) -> float:
    return v.parse_duration(value).total_seconds()


class Loader:
    """Turns the parsed TOML tree into a `Config`, naming the key of every problem."""

    def __init__(self, file: Path, environ: Mapping[str, str]) -> None:
        self.file = file
        self.environ = environ

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.file, key, problem)

    def build(self, data: dict[str, Any]) -> Config:
        self.check_keys("", data, _TOP_KEYS)
        settings = self.settings(self.table("server", data.get("server", {})))
        fetch = self.fetch(self.table("fetch", data.get("fetch", {})))
        categories = self.categories(data)
        sources = self.sources(data.get("sources", []), categories)
        return Config(str(self.file), settings, fetch, categories, sources)

    # -- helpers

    def table(self, key: str, value: object) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(key, f"expected a table, got {v.type_name(value)}")
        return value

    def check_keys(self, prefix: str, table: dict[str, Any], known: tuple[str, ...]) -> None:
        for name in table:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f"did you mean {close[0]}?" if close else f"expected one of: {', '.join(known)}"
                raise self.error(f"{prefix}{name}", f"unknown key ({hint})")

    def field(self, prefix: str, table: dict[str, Any], name: str, parse: Callable[[object], Any]) -> Any:
        """`parse(table[name])`, with a BadValue turned into a ConfigError naming the key."""
        try:
            return parse(table[name])
        except BadValue as err:
            raise self.error(f"{prefix}{name}", str(err)) from None

    def fields(
        self, prefix: str, table: dict[str, Any], parsers: Mapping[str, Callable[[object], Any]]
    ) -> dict[str, Any]:
        """Parse the keys present in `table`; absent keys keep the model's default."""
        return {n: self.field(prefix, table, n, p) for n, p in parsers.items() if n in table}

    def array_of_tables(self, key: str, value: object) -> list[dict[str, Any]]:
        if not isinstance(value, list):
            raise self.error(key, f"expected an array of tables ([[{key}]]), got a {v.type_name(value)}")
        for i, item in enumerate(value):
            self.table(f"{key}[{i}]", item)
        return value

    def list_of(self, key: str, value: object, parse: Callable[[object], Any]) -> list[Any]:
        if not isinstance(value, list):
            raise self.error(key, f"expected an array, got {v.type_name(value)} {value!r}")
        out = []
        for i, item in enumerate(value):
            try:
                out.append(parse(item))
            except BadValue as err:
                raise self.error(f"{key}[{i}]", str(err)) from None
        return out

    # -- sections

    def settings(self, server: dict[str, Any]) -> Settings:
        self.check_keys("server.", server, _SERVER_KEYS)
        parsers: dict[str, Callable[[object], Any]] = {
            "redis_url": v.parse_redis_url,
            "redis_prefix": v.expect_nonempty_str,
            "queue_name": v.expect_nonempty_str,
            "public_url": v.parse_public_url,
            "data_dir": v.expect_nonempty_str,
            "host": v.expect_nonempty_str,
            "port": v.expect_port,
            "job_timeout": _seconds,
            "max_tries": v.expect_int,
            "schedule_every": v.parse_whole_seconds,
            "evicted_memory": v.parse_duration,
        }
        values = self.fields("server.", server, parsers)
        for var, (name, parse) in _ENV_OVERRIDES.items():
            if var in self.environ:
                try:
                    values[name] = parse(self.environ[var])
                except BadValue as err:
                    raise self.error(var, str(err)) from None
        return Settings(**values)

    def fetch(self, fetch: dict[str, Any]) -> FetchLimits:
        self.check_keys("fetch.", fetch, _FETCH_KEYS)
        parsers: dict[str, Callable[[object], Any]] = {
            "connect_timeout": _seconds,
            "read_timeout": _seconds,
            "total_timeout": _seconds,
            "max_bytes": v.parse_size,
            "max_redirects": lambda x: v.expect_int(x, minimum=0),
            "max_entries": v.expect_int,
            "user_agent": v.parse_user_agent,
        }
        values = self.fields("fetch.", fetch, parsers)
        if "allowed_networks" in fetch:
            nets = self.list_of("fetch.allowed_networks", fetch["allowed_networks"], v.parse_cidr)
            values["allowed_networks"] = tuple(nets)
        return FetchLimits(**values)

    def category_values(self, prefix: str, table: dict[str, Any]) -> dict[str, Any]:
        parsers: dict[str, Callable[[object], Any]] = {
            "title": v.expect_nonempty_str,
            "description": v.expect_str,
            "language": v.parse_language,
            "items_per_feed": v.expect_int,
            "retention_count": v.expect_int,
            "retention_age": v.parse_duration,
        }
        return self.fields(prefix, table, parsers)

    def categories(self, data: dict[str, Any]) -> dict[str, Category]:
        all_table = self.table("all", data.get("all", {}))
        self.check_keys("all.", all_table, _ALL_KEYS)
        everything = Category(ALL_CATEGORY, "All articles")
        everything = replace(everything, **self.category_values("all.", all_table))

        configured: dict[str, Category] = {}
        where: dict[str, str] = {}
        for i, table in enumerate(self.array_of_tables("categories", data.get("categories", []))):
            prefix = f"categories[{i}]."
            self.check_keys(prefix, table, _CATEGORY_KEYS)
            if "slug" not in table:
                raise self.error(f"{prefix}slug", "required key is missing")
            slug = self.field(prefix, table, "slug", v.parse_slug)
            if slug.split("/")[0] == ALL_CATEGORY:
                raise self.error(
                    f"{prefix}slug",
                    f"{slug!r}: '{ALL_CATEGORY}' is reserved for the feed of every article "
                    f"(configure it under [{ALL_CATEGORY}])",
                )
            if slug in configured:
                raise self.error(
                    f"{prefix}slug", f"duplicate category slug {slug!r} (also {where[slug]}slug)"
                )
            values = {"title": v.derived_title(slug), **self.category_values(prefix, table)}
            configured[slug] = Category(slug=slug, **values)
            where[slug] = prefix

        # Parents are implied: `qinggan/gushi` alone also creates `qinggan`, placed before
        # its first child, taking the child's language so the parent feed is labelled right.
        result: dict[str, Category] = {ALL_CATEGORY: everything}
        for slug, cat in configured.items():
            for parent in reversed(cat.parents):
                if parent not in result:
                    implied = Category(parent, v.derived_title(parent), language=cat.language)
                    result[parent] = configured.get(parent, implied)
            result.setdefault(slug, cat)
        return result

    def sources(self, value: object, categories: dict[str, Category]) -> dict[str, Source]:
        sources: dict[str, Source] = {}
        where: dict[str, str] = {}
        for i, table in enumerate(self.array_of_tables("sources", value)):
            prefix = f"sources[{i}]."
            self.check_keys(prefix, table, _SOURCE_KEYS)
            for required in ("id", "url"):
                if required not in table:
                    raise self.error(f"{prefix}{required}", "required key is missing")
            ident = self.field(prefix, table, "id", v.parse_source_id)
            if ident in sources:
                raise self.error(f"{prefix}id", f"duplicate source id {ident!r} (also {where[ident]}id)")
            parsers: dict[str, Callable[[object], Any]] = {
                "url": lambda x: v.parse_source_url(x, self.file.parent),
                "kind": _parse_kind,
                "title": v.expect_str,
                "poll_interval": v.parse_duration,
                "timezone": v.parse_timezone,
                "enabled": v.expect_bool,
                "allow_private_network": v.expect_bool,
                "max_depth": v.expect_int,
                "max_pages": v.expect_int,
                "crawl_delay": _seconds,
                "host_concurrency": v.expect_int,
                "default_category": lambda x: v.parse_known_slug(x, categories),
            }
            values = self.fields(prefix, table, parsers)
            if "categories" in table:
                values["categories"] = self.source_categories(prefix, table, categories)
            if "category_map" in table:
                values["category_map"] = self.category_map(prefix, table["category_map"], categories)
            if "rules" in table:
                values["rules"] = self.site_rules(prefix, table["rules"])
            sources[ident] = Source(id=ident, **values)
            where[ident] = prefix
        return sources

    def category_map(
        self, prefix: str, value: object, categories: dict[str, Category]
    ) -> tuple[CategoryRule, ...]:
        """`{"情感/故事" = "qinggan/gushi", "情感/*" = "qinggan"}`: `/*` makes a prefix rule."""
        table = self.table(f"{prefix}category_map", value)
        rules = []
        for path, slug in table.items():
            key = f'{prefix}category_map."{path}"'
            try:
                rules.append(v.parse_category_rule(path, slug, categories))
            except BadValue as err:
                raise self.error(key, str(err)) from None
        return tuple(rules)

    def site_rules(self, prefix: str, value: object) -> SiteRules:
        table = self.table(f"{prefix}rules", value)
        self.check_keys(f"{prefix}rules.", table, _RULE_KEYS)
        parsers = {name: v.parse_css_selector for name in ("title", "body", "date", "category")}
        values = self.fields(f"{prefix}rules.", table, parsers)
        if "drop" in table:
            values["drop"] = tuple(self.list_of(f"{prefix}rules.drop", table["drop"], v.parse_css_selector))
        return SiteRules(**values)

    def source_categories(
        self, prefix: str, table: dict[str, Any], categories: dict[str, Category]
    ) -> tuple[str, ...]:
        key = f"{prefix}categories"
        slugs = self.list_of(key, table["categories"], v.expect_str)
        for i, slug in enumerate(slugs):
            if slug not in categories:
                close = difflib.get_close_matches(slug, list(categories), n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(categories)}"
                raise self.error(f"{key}[{i}]", f"unknown category {slug!r} ({hint})")
            if slug in slugs[:i]:
                raise self.error(f"{key}[{i}]", f"category {slug!r} is listed twice")
        return tuple(slugs)


def _parse_kind(value: object) -> str:
    kind = v.expect_str(value)
    if kind not in _SOURCE_KINDS:
        raise BadValue(f"unknown source kind {kind!r} (supported: {', '.join(_SOURCE_KINDS)})")
    return kind
