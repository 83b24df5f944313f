"""The configuration schema, declared once as pydantic models, and its cross-checks.

Each TOML table is a model: a key is one line, its type and its default. Models are
strict (TOML has real types, so `port = "8080"` is a mistake, not a number) and forbid
unknown keys (a misspelt key would otherwise fall back to its default unseen). After
pydantic has checked every value, `build_config` checks what no single value can (unknown
and duplicate categories, duplicate ids) and returns the frozen records of
`syndicator.models` that the rest of the code reads.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, get_args

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from syndicator.config import values as v
from syndicator.config.errors import ConfigError, from_validation_error
from syndicator.models import (
    ALL_CATEGORY,
    Category,
    CategoryRule,
    Config,
    FetchLimits,
    Settings,
    SiteRules,
    Source,
    SourceKind,
)


class Table(BaseModel):
    """A TOML table: strict types, no unknown keys."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ServerTable(Table):
    """`[server]` → `Settings`."""

    redis_url: v.RedisUrl = None
    redis_prefix: v.NonEmptyStr = "syn:"
    queue_name: v.NonEmptyStr = "syndicator:queue"
    public_url: v.PublicUrl = None
    data_dir: v.NonEmptyStr = ".syndicator-data"
    host: v.NonEmptyStr = "127.0.0.1"
    port: v.Port = 8080
    job_timeout: v.Seconds = 120.0
    max_tries: v.PositiveInt = 5
    schedule_every: v.WholeSeconds = 10
    evicted_memory: v.Duration = timedelta(days=30)


class FetchTable(Table):
    """`[fetch]` → `FetchLimits`."""

    connect_timeout: v.Seconds = 10.0
    read_timeout: v.Seconds = 30.0
    total_timeout: v.Seconds = 60.0
    max_bytes: v.Size = 10 * 1024 * 1024
    max_redirects: v.NonNegativeInt = 5
    max_entries: v.PositiveInt = 500
    allowed_networks: list[v.Cidr] = []  # CIDRs the address guard lets through anyway
    user_agent: v.UserAgent = "Syndicator/0.1 (+https://github.com/syndicator/syndicator)"


class FeedTable(Table):
    """`[all]`: what every feed has; `[[categories]]` adds the slug."""

    title: v.NonEmptyStr | None = None  # None: "All articles", or derived from the slug
    description: str = ""
    language: v.Language = "en"
    items_per_feed: v.PositiveInt = 50
    retention_count: v.PositiveInt = 1000
    retention_age: v.Duration | None = None


class CategoryTable(FeedTable):
    """`[[categories]]` → `Category`; parents of a nested slug are implied."""

    slug: v.Slug

    @field_validator("slug")
    @classmethod
    def _not_reserved(cls, slug: str) -> str:
        if slug.split("/")[0] == ALL_CATEGORY:
            raise ValueError(
                f"{slug!r}: '{ALL_CATEGORY}' is reserved for the feed of every article "
                f"(configure it under [{ALL_CATEGORY}])"
            )
        return slug


class RulesTable(Table):
    """`[sources.rules]` → `SiteRules`: selectors where the default extraction fails."""

    title: v.CssSelector | None = None
    body: v.CssSelector | None = None
    date: v.CssSelector | None = None
    category: v.CssSelector | None = None
    drop: list[v.CssSelector] = []


class SourceTable(Table):
    """`[[sources]]` → `Source`. Categories named here are checked against the file's."""

    id: v.SourceId
    url: v.SourceUrl
    kind: Annotated[SourceKind, v.one_of("source kind", get_args(SourceKind))] = "feed"
    categories: list[str] = []
    title: str = ""
    poll_interval: v.Duration = timedelta(minutes=30)
    timezone: v.TimeZone = "UTC"
    enabled: bool = True
    allow_private_network: bool = False
    category_map: dict[str, str] = {}  # upstream path (`情感/*` for a prefix) → our slug
    default_category: str | None = None  # for pages whose upstream path no rule maps
    rules: RulesTable = RulesTable()
    max_depth: v.PositiveInt = 1  # listing pages followed per poll (1: the listing itself only)
    max_pages: v.PositiveInt = 100  # article pages enqueued per poll at most
    crawl_delay: v.Seconds = 1.0  # between two requests to the same host
    host_concurrency: v.PositiveInt = 2  # requests in flight to one host across all workers


class ConfigFile(Table):
    """The whole file."""

    server: ServerTable = ServerTable()
    fetch: FetchTable = FetchTable()
    all: FeedTable = FeedTable()
    categories: list[CategoryTable] = []
    sources: list[SourceTable] = []


# Environment variable → `[server]` key. Values are text, so they are validated in lax
# mode (SYNDICATOR_PORT=8181 is a number) and an error names the variable, not the key.
ENV_OVERRIDES = {
    "SYNDICATOR_REDIS_URL": "redis_url",
    "SYNDICATOR_REDIS_PREFIX": "redis_prefix",
    "SYNDICATOR_QUEUE_NAME": "queue_name",
    "SYNDICATOR_PUBLIC_URL": "public_url",
    "SYNDICATOR_DATA_DIR": "data_dir",
    "SYNDICATOR_HOST": "host",
    "SYNDICATOR_PORT": "port",
    "SYNDICATOR_JOB_TIMEOUT": "job_timeout",
}


def build_config(data: dict[str, Any], path: Path, digest: str, environ: Mapping[str, str]) -> Config:
    """Validate parsed TOML (plus `SYNDICATOR_*` overrides) into a `Config`, or raise `ConfigError`."""
    try:
        file = ConfigFile.model_validate(data, context={"base_dir": path.parent})
    except ValidationError as err:
        raise from_validation_error(path, err, ConfigFile) from None
    given = {key: environ[var] for var, key in ENV_OVERRIDES.items() if var in environ}
    try:
        env = ServerTable.model_validate(given, strict=False)
    except ValidationError as err:
        names = {key: var for var, key in ENV_OVERRIDES.items()}
        raise from_validation_error(path, err, ServerTable, names) from None
    server = file.server.model_copy(update={key: getattr(env, key) for key in given})
    categories = _categories(path, file)
    sources = _sources(path, file.sources, categories)
    settings, fetch = Settings(**_fields(server)), FetchLimits(**_fields(file.fetch))
    return Config(str(path), settings, fetch, categories, sources, digest)


def _fields(table: BaseModel) -> dict[str, Any]:
    """A table's values for its record's constructor: arrays become the records' tuples."""
    return {name: tuple(value) if isinstance(value, list) else value for name, value in table}


def _category(slug: str, table: FeedTable, title: str) -> Category:
    return Category(**{**_fields(table), "slug": slug, "title": table.title or title})


def derived_title(slug: str) -> str:
    """A readable title for a category without one: `machine-learning` → `Machine learning`."""
    words = slug.rsplit("/", 1)[-1].replace("-", " ").replace("_", " ")
    return words[:1].upper() + words[1:]


def _categories(path: Path, file: ConfigFile) -> dict[str, Category]:
    """`all`, then the configured categories with their implied parents, in file order.

    `qinggan/gushi` alone also creates `qinggan`, placed before its first child and taking
    the child's language, so the parent feed is labelled right.
    """
    configured: dict[str, Category] = {}
    slugs = [table.slug for table in file.categories]
    for i, slug in enumerate(slugs):
        if slug in configured:
            raise ConfigError(
                path,
                f"categories[{i}].slug",
                f"duplicate category slug {slug!r} (also categories[{slugs.index(slug)}].slug)",
            )
        configured[slug] = _category(slug, file.categories[i], derived_title(slug))
    result = {ALL_CATEGORY: _category(ALL_CATEGORY, file.all, "All articles")}
    for slug, category in configured.items():
        for parent in reversed(category.parents):
            implied = Category(parent, derived_title(parent), language=category.language)
            result.setdefault(parent, configured.get(parent, implied))
        result.setdefault(slug, category)
    return result


def _sources(path: Path, tables: list[SourceTable], categories: dict[str, Category]) -> dict[str, Source]:
    sources: dict[str, Source] = {}
    ids = [table.id for table in tables]

    def known(key: str, slug: str) -> str:
        if slug not in categories:
            close = difflib.get_close_matches(slug, list(categories), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(categories)}"
            raise ConfigError(path, key, f"unknown category {slug!r} ({hint})")
        return slug

    for i, table in enumerate(tables):
        prefix = f"sources[{i}]"
        if table.id in sources:
            problem = f"duplicate source id {table.id!r} (also sources[{ids.index(table.id)}].id)"
            raise ConfigError(path, f"{prefix}.id", problem)
        for n, slug in enumerate(table.categories):
            known(f"{prefix}.categories[{n}]", slug)
            if slug in table.categories[:n]:
                raise ConfigError(path, f"{prefix}.categories[{n}]", f"category {slug!r} is listed twice")
        if table.default_category is not None:
            known(f"{prefix}.default_category", table.default_category)
        rules = []
        for upstream, slug in table.category_map.items():
            key = f'{prefix}.category_map."{upstream}"'
            rules.append(_category_rule(path, key, upstream, slug))
            known(key, slug)
        site_rules = SiteRules(**_fields(table.rules))
        sources[table.id] = Source(**{**_fields(table), "category_map": tuple(rules), "rules": site_rules})
    return sources


def _category_rule(path: Path, key: str, upstream: str, slug: str) -> CategoryRule:
    """`"情感/故事" = "qinggan/gushi"` matches that path exactly; `"情感/*"` every path under it."""
    prefix = upstream.endswith("/*")
    segments = tuple(part.strip() for part in (upstream[:-2] if prefix else upstream).split("/"))
    if any(not part for part in segments):
        raise ConfigError(path, key, f"upstream path {upstream!r} has an empty segment")
    return CategoryRule(segments, slug, "prefix" if prefix else "exact")
