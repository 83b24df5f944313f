"""Configuration: the default file and its samples, every error a config author can make,
environment overrides, implied parent categories and `file:` resolution.

Error tests assert the whole one-line message, because that line is all an operator sees.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields, make_dataclass
from datetime import timedelta
from pathlib import Path

import feedparser
import jsonschema
import pytest
from pydantic import ValidationError

from syndicator.config import (
    ConfigError,
    ConfigLocation,
    check_config,
    default_config_path,
    load_config,
    locate_config,
)
from syndicator.config.errors import from_validation_error
from syndicator.config.schema import (
    AdminTable,
    CategoryTable,
    FeedTable,
    FetchTable,
    RulesTable,
    ServerTable,
    SourceTable,
    table_of,
)
from syndicator.models import (
    ALL_CATEGORY,
    AdminSettings,
    Category,
    FetchLimits,
    Settings,
    SiteRules,
    Source,
)
from syndicator.values import PositiveInt
from tests.conftest import JSONFEED_SCHEMA

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "config" / "syndicator.toml"
SAMPLES = REPO / "config" / "samples"

MINIMAL = """
[[categories]]
slug = "tech"

[[sources]]
id = "one"
url = "https://example.com/feed.xml"
categories = ["tech"]
"""


def write(tmp_path: Path, text: str, name: str = "syndicator.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path, environ: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path, environ=environ or {})
    return info.value


# ---------------------------------------------------------------- the default configuration


def test_default_config_loads_from_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # ./config/syndicator.toml in the current directory
    config = load_config(environ={})
    assert config.path == str(DEFAULT)
    assert list(config.categories) == [
        ALL_CATEGORY,
        "tech",
        "tech/python",
        "news",
        "qinggan",
        "qinggan/gushi",
    ]
    assert config.categories[ALL_CATEGORY].title == "All articles"
    assert config.settings.redis_url is None  # embedded Redis by default
    assert config.settings.job_timeout == 120.0
    assert config.fetch.max_bytes == 10 * 1024 * 1024
    # Every default source is a bundled sample, so a first run needs no network.
    assert {s.id for s in config.sources.values()} == {
        "sample-rss",
        "sample-atom",
        "sample-json",
        "sample-gbk",
    }
    for source in config.sources.values():
        assert source.url.startswith("file:///")
        assert Path(source.url.removeprefix("file://")).parent == SAMPLES
    fed = {c for s in config.sources.values() for c in s.categories}
    assert len(fed) >= 2 and fed <= set(config.categories)


def test_default_config_path_prefers_env_then_current_directory_then_bundled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SYNDICATOR_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    # Nothing here: the bundled copy (in this editable install, the checkout's config/).
    assert locate_config() == ConfigLocation(DEFAULT, "the bundled default")
    (tmp_path / "config").mkdir()
    mine = write(tmp_path / "config", MINIMAL)
    assert default_config_path() == mine
    assert locate_config().describe() == f"config: {mine} (from ./config in the current directory)"
    other = write(tmp_path, MINIMAL, "other.toml")
    monkeypatch.setenv("SYNDICATOR_CONFIG", str(other))
    assert locate_config() == ConfigLocation(other, "from $SYNDICATOR_CONFIG", "SYNDICATOR_CONFIG")
    assert locate_config("given.toml").describe() == f"config: {tmp_path / 'given.toml'} (from --config)"


def test_config_env_variable_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    config = load_config(environ={"SYNDICATOR_CONFIG": str(path)})
    assert config.path == str(path)
    assert list(config.sources) == ["one"]
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load_config(environ={"SYNDICATOR_CONFIG": str(missing)})
    assert str(info.value) == (
        f"{missing}: SYNDICATOR_CONFIG: cannot read the file (No such file or directory)"
    )


def test_sample_feeds_parse_and_share_two_links() -> None:
    rss = feedparser.parse((SAMPLES / "tech.rss.xml").read_bytes())
    atom = feedparser.parse((SAMPLES / "python.atom.xml").read_bytes())
    assert (rss.version, rss.bozo, len(rss.entries)) == ("rss20", False, 8)
    assert (atom.version, atom.bozo, len(atom.entries)) == ("atom10", False, 6)
    shared = {e.link for e in rss.entries} & {e.link for e in atom.entries}
    assert len(shared) == 2
    for feed in (rss, atom):
        assert all(e.published_parsed.tm_year == 2026 for e in feed.entries)


def test_gbk_sample_is_really_gbk() -> None:
    raw = (SAMPLES / "gushi.gbk.rss.xml").read_bytes()
    assert raw.startswith(b'<?xml version="1.0" encoding="gbk"?>')
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    feed = feedparser.parse(raw)
    assert (feed.version, feed.bozo, feed.encoding) == ("rss20", False, "gbk")
    assert len(feed.entries) >= 4
    assert "情感" in feed.feed.title
    assert feed.entries[0].title == "外婆的那罐咸菜"


def test_json_feed_sample_is_valid_json_feed_1_1() -> None:
    schema = json.loads(JSONFEED_SCHEMA.read_text())
    feed = json.loads((SAMPLES / "news.json").read_text(encoding="utf-8"))
    jsonschema.validate(feed, schema, format_checker=jsonschema.FormatChecker())
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert len(feed["items"]) == 5
    assert len({item["id"] for item in feed["items"]}) == 5
    assert all(item["date_published"].startswith("2026-") for item in feed["items"])


# ---------------------------------------------------------------- values and rules


def test_values_are_parsed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [server]
        redis_url = "redis://cache.internal:6380/2"
        public_url = "https://feeds.example.com/base"
        job_timeout = 90
        schedule_every = "1m"
        evicted_memory = "2w"
        [fetch]
        connect_timeout = "500ms"
        total_timeout = "1h30m"
        max_bytes = "512KB"
        max_redirects = 0
        allowed_networks = ["10.20.0.0/16", "fd00:1234::/32"]
        [all]
        retention_age = "7d"
        [[categories]]
        slug = "machine-learning"
        [[sources]]
        id = "a.b_c-1"
        url = "http://example.org:8080/rss"
        timezone = "Asia/Shanghai"
        poll_interval = "1h30m"
        enabled = false
        """,
    )
    config = load_config(path, environ={})
    assert config.settings.redis_url == "redis://cache.internal:6380/2"
    assert config.settings.public_url == "https://feeds.example.com/base/"
    assert (config.settings.job_timeout, config.settings.schedule_every) == (90.0, 60)
    assert config.settings.evicted_memory == timedelta(days=14)
    assert (config.fetch.connect_timeout, config.fetch.total_timeout) == (0.5, 5400.0)
    assert (config.fetch.max_bytes, config.fetch.max_redirects) == (524288, 0)
    assert config.fetch.allowed_networks == ("10.20.0.0/16", "fd00:1234::/32")
    assert config.categories[ALL_CATEGORY].retention_age == timedelta(days=7)
    assert config.categories["machine-learning"].title == "Machine learning"
    source = config.sources["a.b_c-1"]
    assert (source.poll_interval, source.timezone) == (timedelta(minutes=90), "Asia/Shanghai")
    assert source.enabled is False and source.categories == ()


def test_parent_categories_are_implied(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [[categories]]
        slug = "qinggan/gushi"
        title = "情感故事"
        language = "zh-CN"
        [[categories]]
        slug = "tech/python"
        [[categories]]
        slug = "tech"
        title = "Technology"
        [[sources]]
        id = "s"
        url = "https://example.com/"
        categories = ["qinggan/gushi", "qinggan"]
        """,
    )
    config = load_config(path, environ={})
    assert list(config.categories) == ["all", "qinggan", "qinggan/gushi", "tech", "tech/python"]
    parent = config.categories["qinggan"]
    assert (parent.title, parent.language) == ("Qinggan", "zh-CN")
    assert config.categories["tech"].title == "Technology"  # configured after its child
    assert config.category_with_ancestors("qinggan/gushi") == ("qinggan/gushi", "qinggan", "all")


def test_file_urls_resolve_against_the_config_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "conf" / "feeds").mkdir(parents=True)
    feed = tmp_path / "conf" / "feeds" / "my feed.xml"
    feed.write_text("<rss version='2.0'/>")
    path = write(
        tmp_path / "conf",
        f"""
        [[sources]]
        id = "rel"
        url = "file:feeds/my%20feed.xml"
        [[sources]]
        id = "abs"
        url = "{feed.as_uri()}"
        """,
    )
    monkeypatch.chdir(tmp_path)  # the current directory must not matter
    config = load_config(path, environ={})
    assert config.sources["rel"].url == feed.as_uri()
    assert config.sources["abs"].url == feed.as_uri()
    assert config.sources["rel"].url.startswith("file:///")


def test_env_overrides_win_over_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[server]\nport = 9000\nhost = "0.0.0.0"\nredis_url = "redis://a/0"\n')
    environ = {
        "SYNDICATOR_REDIS_URL": "unix:///run/redis.sock",
        "SYNDICATOR_REDIS_PREFIX": "test:",
        "SYNDICATOR_QUEUE_NAME": "q2",
        "SYNDICATOR_PUBLIC_URL": "https://feeds.example.com",
        "SYNDICATOR_DATA_DIR": "/var/lib/syndicator",
        "SYNDICATOR_HOST": "::1",
        "SYNDICATOR_PORT": "8181",
        "SYNDICATOR_JOB_TIMEOUT": "45s",
    }
    settings = load_config(path, environ=environ).settings
    assert settings.redis_url == "unix:///run/redis.sock"
    assert (settings.redis_prefix, settings.queue_name) == ("test:", "q2")
    assert settings.public_url == "https://feeds.example.com/"
    assert (settings.data_dir, settings.host, settings.port) == ("/var/lib/syndicator", "::1", 8181)
    assert settings.job_timeout == 45.0
    # Without the environment the file's values stand.
    plain = load_config(path, environ={}).settings
    assert (plain.port, plain.host, plain.redis_url) == (9000, "0.0.0.0", "redis://a/0")
    # An empty SYNDICATOR_REDIS_URL selects the embedded server.
    assert load_config(path, environ={"SYNDICATOR_REDIS_URL": ""}).settings.redis_url is None


@pytest.mark.parametrize(
    ("var", "value", "problem"),
    [
        ("SYNDICATOR_PORT", "http", "expected an integer, got string 'http'"),
        ("SYNDICATOR_PORT", "70000", "must be a port number between 1 and 65535, got 70000"),
        (
            "SYNDICATOR_JOB_TIMEOUT",
            "soon",
            'bad duration \'soon\' (use seconds or a string such as "90s", "10m", "1h30m", "7d", "2w")',
        ),
        (
            "SYNDICATOR_REDIS_URL",
            "http://localhost:6379",
            "unsupported scheme in 'http://localhost:6379' (use redis://, rediss://, unix:// or "
            "redis+sentinel://host:26379,host2:26379/mymaster, or leave empty for the embedded server)",
        ),
        (
            "SYNDICATOR_PUBLIC_URL",
            "feeds.example.com",
            "bad URL 'feeds.example.com' (expected http://, https:// or file:)",
        ),
        ("SYNDICATOR_HOST", "", "must not be empty"),
    ],
)
def test_bad_env_values_are_config_errors(tmp_path: Path, var: str, value: str, problem: str) -> None:
    path = write(tmp_path, MINIMAL)
    err = error_of(path, {var: value})
    assert str(err) == f"{path}: {var}: {problem}"
    assert (err.path, err.key, err.problem) == (str(path), var, problem)


# ---------------------------------------------------------------- errors in the file

SOURCE = '[[sources]]\nid = "s"\nurl = "https://example.com/feed"\n'
CATEGORY = '[[categories]]\nslug = "tech"\n'

BAD_FILES = [
    # unknown keys, with and without a suggestion
    (
        SOURCE + 'pol_interval = "1h"\n',
        "sources[0].pol_interval",
        "unknown key (did you mean poll_interval?)",
    ),
    ("[sever]\nport = 1\n", "sever", "unknown key (did you mean server?)"),
    ("[fetch]\nmax_byte = 5\n", "fetch.max_byte", "unknown key (did you mean max_bytes?)"),
    (
        CATEGORY + "colour = 1\n",
        "categories[0].colour",
        "unknown key (expected one of: slug, title, description, language, items_per_feed, "
        "retention_count, max_source_share, retention_age, near_duplicates, near_duplicate_threshold, "
        "aliases)",
    ),
    # wrong types
    ('[server]\nport = "8080"\n', "server.port", "expected an integer, got string '8080'"),
    ("[server]\nport = true\n", "server.port", "expected an integer, got boolean True"),
    (
        CATEGORY + "near_duplicate_threshold = 0\n",
        "categories[0].near_duplicate_threshold",
        "Input should be greater than 0",
    ),
    (
        SOURCE + 'enabled = "yes"\n',
        "sources[0].enabled",
        "expected true or false, got string 'yes'",
    ),
    (
        SOURCE + 'categories = "tech"\n',
        "sources[0].categories",
        "expected an array, got string 'tech'",
    ),
    (
        'categories = "tech"\n',
        "categories",
        "expected an array of tables ([[categories]]), got a string",
    ),
    ("server = 5\n", "server", "expected a table, got integer"),
    # URLs
    (
        '[[sources]]\nid = "s"\nurl = "ftp://example.com/f"\n',
        "sources[0].url",
        "bad URL 'ftp://example.com/f' (expected http://, https:// or file:)",
    ),
    (
        '[[sources]]\nid = "s"\nurl = "https:///feed.xml"\n',
        "sources[0].url",
        "URL 'https:///feed.xml' has no host",
    ),
    (
        '[[sources]]\nid = "s"\nurl = "https://example.com:99999/"\n',
        "sources[0].url",
        "URL 'https://example.com:99999/' has a bad port",
    ),
    (
        '[[sources]]\nid = "s"\nurl = "file://server/share/f.xml"\n',
        "sources[0].url",
        "file: URL 'file://server/share/f.xml' names a remote host 'server'",
    ),
    ('[[sources]]\nid = "s"\n', "sources[0].url", "required key is missing"),
    (
        '[server]\npublic_url = "https://x.example/?a=1"\n',
        "server.public_url",
        "public URL 'https://x.example/?a=1' must not have a query or fragment",
    ),
    # categories of sources
    (
        CATEGORY + SOURCE + 'categories = ["sport"]\n',
        "sources[0].categories[0]",
        "unknown category 'sport' (known: all, tech)",
    ),
    (
        CATEGORY + SOURCE + 'categories = ["tech", "tehc"]\n',
        "sources[0].categories[1]",
        "unknown category 'tehc' (did you mean 'tech'?)",
    ),
    (
        CATEGORY + SOURCE + 'categories = ["tech", "tech"]\n',
        "sources[0].categories[1]",
        "category 'tech' is listed twice",
    ),
    # identity
    (SOURCE + SOURCE, "sources[1].id", "duplicate source id 's' (also sources[0].id)"),
    (
        '[[sources]]\nid = "Big"\nurl = "https://e.example/"\n',
        "sources[0].id",
        "bad source id 'Big' (lowercase letters, digits, '.', '_', '-'; starting with a letter or digit)",
    ),
    (
        CATEGORY + CATEGORY,
        "categories[1].slug",
        "duplicate category slug 'tech' (also categories[0].slug)",
    ),
    (
        '[[categories]]\nslug = "all"\n',
        "categories[0].slug",
        "'all': 'all' is reserved for the feed of every article (configure it under [all])",
    ),
    (
        '[[categories]]\nslug = "all/x"\n',
        "categories[0].slug",
        "'all/x': 'all' is reserved for the feed of every article (configure it under [all])",
    ),
    (
        '[[categories]]\nslug = "Tech"\n',
        "categories[0].slug",
        "bad slug 'Tech' (lowercase segments of a-z, 0-9, '-', '_' joined by '/', at most 8 deep)",
    ),
    (
        '[[categories]]\nslug = "a//b"\n',
        "categories[0].slug",
        "bad slug 'a//b' (lowercase segments of a-z, 0-9, '-', '_' joined by '/', at most 8 deep)",
    ),
    (
        '[[categories]]\nslug = "a/b/c/d/e/f/g/h/i"\n',
        "categories[0].slug",
        "bad slug 'a/b/c/d/e/f/g/h/i' (lowercase segments of a-z, 0-9, '-', '_' joined by '/', "
        "at most 8 deep)",
    ),
    ('[[categories]]\ntitle = "x"\n', "categories[0].slug", "required key is missing"),
    (
        '[[categories]]\nslug = "x"\nlanguage = "english!"\n',
        "categories[0].language",
        "bad language tag 'english!' (use e.g. 'en', 'zh-CN')",
    ),
    # durations, zones, numbers
    (
        SOURCE + 'poll_interval = "soon"\n',
        "sources[0].poll_interval",
        'bad duration \'soon\' (use seconds or a string such as "90s", "10m", "1h30m", "7d", "2w")',
    ),
    (
        SOURCE + 'poll_interval = "0s"\n',
        "sources[0].poll_interval",
        "duration must be positive, got '0s'",
    ),
    (
        '[server]\nschedule_every = "1500ms"\n',
        "server.schedule_every",
        "must be a whole number of seconds, got '1500ms'",
    ),
    (
        SOURCE + 'timezone = "Mars/Olympus"\n',
        "sources[0].timezone",
        "unknown time zone 'Mars/Olympus' (use an IANA name such as 'Asia/Shanghai')",
    ),
    ("[server]\nmax_tries = 0\n", "server.max_tries", "must be a positive integer, got 0"),
    (
        "[server]\nvariant_renders_per_second = -1\n",
        "server.variant_renders_per_second",
        "must be an integer ≥ 0, got -1",
    ),
    (
        "[server]\nport = 70000\n",
        "server.port",
        "must be a port number between 1 and 65535, got 70000",
    ),
    ("[fetch]\nmax_redirects = -1\n", "fetch.max_redirects", "must be an integer ≥ 0, got -1"),
    ("[fetch]\nmax_bytes = 0\n", "fetch.max_bytes", "size must be positive, got 0"),
    (
        '[fetch]\nmax_bytes = "10 parsecs"\n',
        "fetch.max_bytes",
        'bad size \'10 parsecs\' (use bytes or a string such as "512KB", "10MB")',
    ),
    ("[all]\nitems_per_feed = -3\n", "all.items_per_feed", "must be a positive integer, got -3"),
    (
        "[all]\nslug = 'x'\n",
        "all.slug",
        "unknown key (expected one of: title, description, language, items_per_feed, "
        "retention_count, max_source_share, retention_age, near_duplicates, "
        "near_duplicate_threshold)",
    ),
    # networks, redis, headers, kinds
    (
        '[fetch]\nallowed_networks = ["10.0.0.0/8", "10.1.2.3/8"]\n',
        "fetch.allowed_networks[1]",
        "bad CIDR '10.1.2.3/8': 10.1.2.3/8 has host bits set (did you mean 10.0.0.0/8?)",
    ),
    (
        '[fetch]\nallowed_networks = ["300.1.1.0/24"]\n',
        "fetch.allowed_networks[0]",
        "bad CIDR '300.1.1.0/24': '300.1.1.0/24' does not appear to be an IPv4 or IPv6 network",
    ),
    (
        '[server]\nredis_url = "http://localhost:6379"\n',
        "server.redis_url",
        "unsupported scheme in 'http://localhost:6379' (use redis://, rediss://, unix:// or "
        "redis+sentinel://host:26379,host2:26379/mymaster, or leave empty for the embedded server)",
    ),
    (
        '[fetch]\nuser_agent = "a\\r\\nX-Evil: 1"\n',
        "fetch.user_agent",
        "must not contain line breaks or NUL (it is sent as an HTTP header)",
    ),
    (
        SOURCE + 'kind = "podcast"\n',
        "sources[0].kind",
        "unknown source kind 'podcast' (supported: feed, page, listing, sitemap)",
    ),
    (
        SOURCE + 'kind = "listing"\n[sources.rules]\nbody = "div..content"\n',
        "sources[0].rules.body",
        "invalid CSS selector 'div..content': Expected ident, got <DELIM '.' at 4>",
    ),
    (
        SOURCE + '[sources.rules]\ndrop = [".share", "[[bad"]\n',
        "sources[0].rules.drop[1]",
        "invalid CSS selector '[[bad': Expected ident or '*', got <DELIM '[' at 1>",
    ),
    (
        SOURCE + '[sources.rules]\nheadline = "h1"\n',
        "sources[0].rules.headline",
        "unknown key (expected one of: title, body, date, category, drop)",
    ),
    (
        CATEGORY + SOURCE + '[sources.category_map]\n"情感/故事" = "qinggan/gushi"\n',
        'sources[0].category_map."情感/故事"',
        "unknown category 'qinggan/gushi' (known: all, tech)",
    ),
    (
        CATEGORY + SOURCE + '[sources.category_map]\n"情感//故事" = "tech"\n',
        'sources[0].category_map."情感//故事"',
        "upstream path '情感//故事' has an empty segment",
    ),
    (
        CATEGORY + SOURCE + 'default_category = "tehc"\n',
        "sources[0].default_category",
        "unknown category 'tehc' (did you mean 'tech'?)",
    ),
    (
        CATEGORY + SOURCE + '[sources.category_map]\n"情感/故事" = 5\n',
        'sources[0].category_map."情感/故事"',
        "expected a string, got integer 5",
    ),
    (SOURCE + "kind = 5\n", "sources[0].kind", "expected a string, got integer 5"),
    ('categories = ["tech"]\n', "categories[0]", "expected a table, got string"),
    (SOURCE + "rules = 3\n", "sources[0].rules", "expected a table, got integer"),
    ('[all]\ntitle = ""\n', "all.title", "must not be empty"),
    # a misspelt key is named before the errors it causes
    (
        '[[sources]]\nid = "s"\nuurl = "https://e.example/"\n',
        "sources[0].uurl",
        "unknown key (did you mean url?)",
    ),
    ('[server]\nport = "x"\n[sever]\n', "sever", "unknown key (did you mean server?)"),
    # TOML syntax: the position becomes the key
    ("[server]\nport = \n", "line 2, column 8", "TOML syntax error: Invalid value"),
    (
        "[server]\nport = 1\nport = 2\n",
        "line 3, column 9",
        "TOML syntax error: Cannot overwrite a value",
    ),
]


@pytest.mark.parametrize(("text", "key", "problem"), BAD_FILES)
def test_bad_file_gives_one_line_error_naming_file_and_key(
    tmp_path: Path, text: str, key: str, problem: str
) -> None:
    path = write(tmp_path, text)
    err = error_of(path)
    assert str(err) == f"{path}: {key}: {problem}"
    assert (err.path, err.key, err.problem) == (str(path), key, problem)
    assert "\n" not in str(err)


def test_missing_file_source_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, '[[sources]]\nid = "s"\nurl = "file:samples/none.xml"\n')
    err = error_of(path)
    target = tmp_path / "samples" / "none.xml"
    assert str(err) == (
        f"{path}: sources[0].url: file: URL 'file:samples/none.xml' points at '{target}', which is not a file"
    )


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    missing = tmp_path / "absent.toml"
    assert str(error_of(missing)) == (f"{missing}: (file): cannot read the file (No such file or directory)")
    assert str(error_of(tmp_path)) == f"{tmp_path}: (file): cannot read the file (Is a directory)"
    latin = tmp_path / "latin.toml"
    latin.write_bytes('[all]\ntitle = "Caf\xe9"\n'.encode("latin-1"))
    assert str(error_of(latin)) == f"{latin}: (file): not UTF-8 text (bad byte at offset 18)"


# ---------------------------------------------------------------- check-config


def test_check_config_reports_good_and_bad_files(tmp_path: Path) -> None:
    ok, message = check_config(DEFAULT)
    assert ok is True
    assert message == f"{DEFAULT}: OK: 4 sources (4 enabled), 6 categories including 'all'"

    bad = write(tmp_path, SOURCE + SOURCE)
    ok, message = check_config(bad)
    assert ok is False
    assert message == f"{bad}: sources[1].id: duplicate source id 's' (also sources[0].id)"


# ---------------------------------------------------------------- one schema, the same records


def test_the_tables_accept_exactly_the_records_fields_with_their_defaults(tmp_path: Path) -> None:
    """The records in models.py are the schema: every field is a key, and nothing else is."""
    for table, record, not_in_file in [
        (ServerTable, Settings, set()),
        (FetchTable, FetchLimits, set()),
        (AdminTable, AdminSettings, set()),
        (SourceTable, Source, set()),
        (RulesTable, SiteRules, set()),
        (CategoryTable, Category, set()),
        (FeedTable, Category, {"slug", "aliases"}),  # [all]: the slug is `all`, never renamed
    ]:
        assert set(table.model_fields) == {f.name for f in fields(record)} - not_in_file, record.__name__
    path = write(tmp_path, MINIMAL)
    config = load_config(path, environ={})
    assert config.settings == Settings()
    assert config.fetch == FetchLimits()
    assert config.admin == AdminSettings()
    assert config.categories["all"] == Category("all", "All articles")
    assert config.categories["tech"] == Category("tech", "Tech")
    source = config.sources["one"]
    assert source == Source("one", "https://example.com/feed.xml", categories=("tech",))


def test_a_new_record_field_is_a_config_key_with_its_type_and_default(tmp_path: Path) -> None:
    """Adding a key costs one line in models.py: the field, its type and its default."""
    extended = make_dataclass("Source", [("retry_limit", PositiveInt, 3)], bases=(Source,), frozen=True)
    table = table_of(extended, category_map=(dict[str, str], {}))
    given = {"id": "one", "url": "https://example.com/feed.xml"}

    assert table.model_validate(given).retry_limit == 3
    assert table.model_validate({**given, "retry_limit": 7}).retry_limit == 7
    for value, problem in [
        (0, "retry_limit: must be a positive integer, got 0"),
        ("7", "retry_limit: expected an integer, got string '7'"),  # strict, like every key
    ]:
        with pytest.raises(ValidationError) as info:
            table.model_validate({**given, "retry_limit": value})
        assert str(from_validation_error("f.toml", info.value, table)) == f"f.toml: {problem}"
    with pytest.raises(ValidationError) as info:
        table.model_validate({**given, "retry_limt": 7})
    message = "f.toml: retry_limt: unknown key (did you mean retry_limit?)"
    assert str(from_validation_error("f.toml", info.value, table)) == message


def test_records_built_in_python_are_not_validated() -> None:
    """Only the file is validated; code and tests build records with any values they need."""
    source = Source(id="local", url="file:feed.xml", poll_interval=timedelta(0))
    assert (source.url, source.poll_interval) == ("file:feed.xml", timedelta(0))


# ---------------------------------------------------------------- digest and reload


def test_digest_is_the_files_sha256_and_a_reload_reads_the_same_file(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    environ = {"SYNDICATOR_PORT": "8181"}
    config = load_config(path, environ=environ)
    assert config.digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert config.path == str(path)

    same = load_config(config.path, environ=environ)
    assert same == config and same.settings.port == 8181  # the overrides apply again

    path.write_text(MINIMAL.replace('id = "one"', 'id = "two"'), encoding="utf-8")
    changed = load_config(config.path, environ=environ)
    assert changed.digest != config.digest and list(changed.sources) == ["two"]
    assert changed.settings.port == 8181


def test_relative_path_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, MINIMAL)
    monkeypatch.chdir(tmp_path)
    config = load_config("syndicator.toml", environ={})
    assert config.path == str(tmp_path / "syndicator.toml")
