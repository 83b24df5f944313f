"""The configuration schema, derived from the config records, and its cross-checks.

The records of `syndicator.models` declare the keys: each field is a key of its TOML
table, with the field's type and default, so adding a key is one line in models.py.
`table_of` turns a record into a pydantic model of its table, strict (TOML has real types,
so `port = "8080"` is a mistake, not a number) and forbidding unknown keys (a misspelt
key would otherwise fall back to its default unseen). After pydantic has checked every
value, `build_config` checks what no single value can (unknown and duplicate categories,
duplicate ids) and returns the frozen records that the rest of the code reads.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from syndicator import values as v
from syndicator.config.errors import ConfigError, from_validation_error
from syndicator.models import (
    ALL_CATEGORY,
    AdminSettings,
    Category,
    CategoryRule,
    Config,
    FetchLimits,
    FilterRule,
    Filters,
    Settings,
    SiteRules,
    Source,
)


class Table(BaseModel):
    """A TOML table: strict types, no unknown keys."""

    model_config = ConfigDict(extra="forbid", strict=True)


_TABLES: dict[type, type[Table]] = {}  # record → its table, for a record inside another
_RECORDS: dict[type[BaseModel], type] = {}  # and back: a table inside another → its record


def table_of(record: type, **changed: tuple[Any, Any] | None) -> type[Table]:
    """The table of a config record: one key per field, with the field's type and default.

    An array (`tuple[X, ...]` in the record) is a `list[X]` in the file; a field whose
    type is a record is that record's table, defaulting to its defaults. `changed` gives
    a key the file's shape where it differs, `name=(type, default)`, or `name=None` to
    leave the field out of the file.
    """
    hints = get_type_hints(record, include_extras=True)
    keys: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        hint = hints[f.name]
        if f.name in changed:
            if changed[f.name] is not None:
                keys[f.name] = changed[f.name]
        elif hint in _TABLES:
            keys[f.name] = (_TABLES[hint], Field(default_factory=_TABLES[hint]))
        else:
            if get_origin(hint) is tuple:
                item = get_args(hint)[0]
                hint = list[_TABLES[item]] if item in _TABLES else list[item]
            if f.default is not dataclasses.MISSING:
                keys[f.name] = (hint, f.default)
            elif f.default_factory is not dataclasses.MISSING:
                keys[f.name] = (hint, Field(default_factory=f.default_factory))
            else:
                keys[f.name] = (hint, ...)
    table = create_model(f"{record.__name__}Table", __base__=Table, __doc__=record.__doc__, **keys)
    if not changed:
        _TABLES[record] = table
        _RECORDS[table] = record
    return table


def register(record: type, table: type[Table]) -> None:
    """`table` (a subclass of `table_of(record)` adding checks) is how `record` is read."""
    _TABLES[record] = table
    _RECORDS[table] = record


ServerTable = table_of(Settings)  # [server]
FetchTable = table_of(FetchLimits)  # [fetch]
AdminTable = table_of(AdminSettings)  # [admin]
RulesTable = table_of(SiteRules)  # [sources.rules]


class FilterRuleTable(table_of(FilterRule)):
    """`[[filters.keep]]`, `[[filters.block]]`, a source's `[[sources.keep]]`/`[[sources.block]]`."""

    @model_validator(mode="after")
    def _has_a_condition(self) -> FilterRuleTable:
        if not (self.words or self.regex is not None or self.older_than is not None):
            raise ValueError("a filter rule needs at least one of words, regex or older_than")
        if self.field != "any" and not (self.words or self.regex is not None):
            raise ValueError(f"field = {self.field!r} needs words or regex to look for there")
        return self


register(FilterRule, FilterRuleTable)
FiltersTable = table_of(Filters)  # [filters]
SourceTable = table_of(Source, category_map=(dict[str, str], {}))  # [[sources]]: see _category_rule
_TITLE = (v.NonEmptyStr | None, None)  # None: "All articles", or derived from the slug
FeedTable = table_of(Category, slug=None, title=_TITLE, aliases=None)  # [all]


class CategoryTable(table_of(Category, title=_TITLE)):
    """`[[categories]]`; parents of a nested slug are implied."""

    @field_validator("slug")
    @classmethod
    def _not_reserved(cls, slug: str) -> str:
        if slug.split("/")[0] == ALL_CATEGORY:
            raise ValueError(
                f"{slug!r}: '{ALL_CATEGORY}' is reserved for the feed of every article "
                f"(configure it under [{ALL_CATEGORY}])"
            )
        return slug


class ConfigFile(Table):
    """The whole file."""

    server: ServerTable = ServerTable()
    fetch: FetchTable = FetchTable()
    admin: AdminTable = AdminTable()
    filters: FiltersTable = FiltersTable()
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
    "SYNDICATOR_QUEUE_URL": "queue_url",
    "SYNDICATOR_STORE_URL": "store_url",
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
    _check_redis_urls(path, server)
    categories = _categories(path, file)
    sources = _sources(path, file.sources, categories)
    settings, fetch = Settings(**_fields(server)), FetchLimits(**_fields(file.fetch))
    admin = AdminSettings(**_fields(file.admin))
    filters = Filters(**_fields(file.filters))
    return Config(str(path), settings, fetch, categories, sources, digest, admin, filters)


def _fields(table: BaseModel) -> dict[str, Any]:
    """A table's values for its record's constructor: arrays become the records' tuples,
    and a table inside (a filter rule) its record."""
    return {name: _value(value) for name, value in table}


def _value(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_value(item) for item in value)
    if isinstance(value, BaseModel) and type(value) in _RECORDS:
        return _RECORDS[type(value)](**_fields(value))
    return value


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
    _check_aliases(path, file, result)
    return result


def _check_aliases(path: Path, file: ConfigFile, categories: dict[str, Category]) -> None:
    """An alias names one category only: not a category of the file (configured or
    implied), not `all`, and not another category's alias — else a URL would have two meanings."""
    owner: dict[str, str] = {}
    for i, table in enumerate(file.categories):
        for n, alias in enumerate(table.aliases):
            key = f"categories[{i}].aliases[{n}]"
            if alias in categories or alias.split("/")[0] == ALL_CATEGORY:
                raise ConfigError(
                    path, key, f"alias {alias!r} is a category of its own; an alias is a former slug"
                )
            if alias in owner:
                raise ConfigError(path, key, f"alias {alias!r} is also an alias of {owner[alias]!r}")
            owner[alias] = table.slug


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
        low, high = table.min_poll_interval, table.max_poll_interval
        if low is not None and high is not None and low > high:
            problem = f"{_duration(low)} is more than max_poll_interval {_duration(high)}"
            raise ConfigError(path, f"{prefix}.min_poll_interval", problem)
        if table.full_text and table.kind != "feed":
            problem = f"only a feed source fetches full text (this one is kind {table.kind!r})"
            raise ConfigError(path, f"{prefix}.full_text", problem)
        site_rules = SiteRules(**_fields(table.rules))
        sources[table.id] = Source(**{**_fields(table), "category_map": tuple(rules), "rules": site_rules})
    return sources


def _duration(value: timedelta) -> str:
    return f"{value.total_seconds():g}s"


def _category_rule(path: Path, key: str, upstream: str, slug: str) -> CategoryRule:
    """`"情感/故事" = "qinggan/gushi"` matches that path exactly; `"情感/*"` every path under it."""
    prefix = upstream.endswith("/*")
    segments = tuple(part.strip() for part in (upstream[:-2] if prefix else upstream).split("/"))
    if any(not part for part in segments):
        raise ConfigError(path, key, f"upstream path {upstream!r} has an empty segment")
    return CategoryRule(segments, slug, "prefix" if prefix else "exact")


def build_source(table: Mapping[str, Any], path: Path, categories: Mapping[str, Category]) -> Source:
    """Validate one `[[sources]]` table exactly as the file's are, against `categories`.

    For a source that is not (yet) in the file: a preview, or one `add-source` is about to
    append. `file:` URLs are read relative to `path`'s folder, as in the file. Raises
    `ConfigError` whose key starts `source.` (`source.url`, `source.categories[0]`).
    """

    def renamed(err: ConfigError) -> ConfigError:
        key = err.key.replace("sources[0]", "source", 1)
        return ConfigError(path, key, err.problem)

    try:
        file = ConfigFile.model_validate({"sources": [dict(table)]}, context={"base_dir": path.parent})
    except ValidationError as err:
        raise renamed(from_validation_error(path, err, ConfigFile)) from None
    try:
        sources = _sources(path, file.sources, dict(categories))
    except ConfigError as err:
        raise renamed(err) from None
    return next(iter(sources.values()))


def _check_redis_urls(path: Path, server: ServerTable) -> None:
    """The queue and the store are both external or both the embedded server: an embedded
    Redis for one of them alone would be a private server the other processes cannot reach."""
    for key, other in (("queue_url", "store_url"), ("store_url", "queue_url")):
        if getattr(server, key) and not (getattr(server, other) or server.redis_url):
            raise ConfigError(
                path, f"server.{other}", f"needed with server.{key} (or server.redis_url for both)"
            )
    queue = server.queue_url or server.redis_url
    if queue and v.is_cluster(queue):
        raise ConfigError(
            path,
            "server.queue_url" if server.queue_url else "server.redis_url",
            "a Redis Cluster can only be the store (arq and pub/sub need one server): "
            "set server.store_url to it and server.queue_url to a redis:// URL",
        )
