"""The config a user edits is the one that runs: real `syndicator` processes started in a
directory of the user's own, checking which file they say they loaded and what they do.

Precedence: `--config` > `$SYNDICATOR_CONFIG` > `./config/syndicator.toml` in the current
directory > the bundled copy. Every command names its file on stderr, so stdout stays
the command's own (`extract --json` is still JSON).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.builders import items, rss
from tests.processes import clean_environment, free_port, run_cli

CWD_REASON = "(from ./config in the current directory)"


def user_config(directory: Path, source_id: str) -> Path:
    """`directory/config/syndicator.toml` with one category and one `file:` feed source."""
    (directory / "config").mkdir(parents=True)
    (directory / "config" / "feed.xml").write_bytes(rss(items(source_id, 3)))
    path = directory / "config" / "syndicator.toml"
    path.write_text(
        '[[categories]]\nslug = "mine"\n\n'
        f'[[sources]]\nid = "{source_id}"\nurl = "file:feed.xml"\ncategories = ["mine"]\n',
        encoding="utf-8",
    )
    return path


def redis_env(redis_url: str, prefix: str, tmp_path: Path) -> dict[str, str]:
    return {
        "SYNDICATOR_REDIS_URL": redis_url,
        "SYNDICATOR_REDIS_PREFIX": prefix,
        "SYNDICATOR_QUEUE_NAME": f"{prefix}queue",
        "SYNDICATOR_DATA_DIR": str(tmp_path / "data"),
        "SYNDICATOR_PUBLIC_URL": "http://feeds.test/",  # `web` and `worker` need one with this Redis
    }


def test_check_config_in_a_users_directory_loads_its_config(tmp_path: Path) -> None:
    path = user_config(tmp_path, "my-source")
    result = run_cli("check-config", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{path}: OK: 1 sources (1 enabled), 2 categories including 'all'\n"
    assert result.stderr.splitlines() == [f"config: {path} {CWD_REASON}"]


def test_ingest_in_a_users_directory_sees_its_new_source(
    tmp_path: Path, redis_url: str, prefix: str, redis: Redis
) -> None:
    path = user_config(tmp_path, "my-source")
    result = run_cli("ingest", "my-source", cwd=tmp_path, env=redis_env(redis_url, prefix, tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[1/1] my-source: 3 new\n"
    assert result.stderr.splitlines()[0] == f"config: {path} {CWD_REASON}"


@pytest.mark.slow  # real processes for 25-60 s: out of the fast lane, in CI
def test_precedence_is_option_then_variable_then_current_directory_then_bundled(tmp_path: Path) -> None:
    cwd_config = user_config(tmp_path, "from-cwd")
    option = tmp_path / "option.toml"
    option.write_text('[[sources]]\nid = "from-option"\nurl = "https://example.com/feed"\n')
    variable = tmp_path / "variable.toml"
    variable.write_text('[[sources]]\nid = "from-variable"\nurl = "https://example.com/feed"\n')
    env = {"SYNDICATOR_CONFIG": str(variable)}

    def loaded(*args: str, cwd: Path = tmp_path, env: dict[str, str] | None = None) -> tuple[str, str]:
        result = run_cli("check-config", *args, cwd=cwd, env=env)
        assert result.returncode == 0, result.stderr
        return result.stderr.strip(), result.stdout.split(": OK: ")[1].split(" sources")[0]

    assert loaded("--config", str(option), env=env) == (f"config: {option} (from --config)", "1")
    assert loaded(str(option), env=env) == (f"config: {option} (from the command line)", "1")
    assert loaded(env=env) == (f"config: {variable} (from $SYNDICATOR_CONFIG)", "1")
    assert loaded() == (f"config: {cwd_config} {CWD_REASON}", "1")
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    line, count = loaded(cwd=empty)
    assert line.startswith("config: ") and line.endswith("/syndicator.toml (the bundled default)")
    assert count == "4"  # the bundled sample sources
    # A relative --config is relative to the current directory, and printed absolute.
    assert loaded("--config", "option.toml")[0] == f"config: {option} (from --config)"


def test_ingest_names_the_file_before_refusing_an_unknown_source(tmp_path: Path) -> None:
    path = user_config(tmp_path, "my-source")
    result = run_cli("ingest", "sample-rss", cwd=tmp_path, env={"SYNDICATOR_DATA_DIR": str(tmp_path / "d")})
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"config: {path} {CWD_REASON}",
        "unknown source id(s): sample-rss; known: my-source",
    ]


def test_extract_json_stays_json_with_the_config_line_on_stderr(tmp_path: Path) -> None:
    path = user_config(tmp_path, "my-source")
    page = tmp_path / "page.html"
    paragraph = "A paragraph of the article, long enough to count as body text for extraction. " * 3
    page.write_text(
        "<html><head><title>The headline</title></head><body><article><h1>The headline</h1>"
        + f"<p>{paragraph}</p>" * 4
        + "</article></body></html>",
        encoding="utf-8",
    )
    result = run_cli("extract", str(page), "--url", "https://example.com/a.html", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0] == f"config: {path} {CWD_REASON}"
    assert json.loads(result.stdout)["title"] == "The headline"


@pytest.mark.parametrize("command", ["serve", "web"])
def test_server_commands_print_the_config_first(
    tmp_path: Path, redis_url: str, prefix: str, redis: Redis, command: str
) -> None:
    path = user_config(tmp_path, "my-source")
    env = clean_environment(redis_env(redis_url, prefix, tmp_path) | {"SYNDICATOR_PORT": str(free_port())})
    # PYTHONFAULTHANDLER: if it does not stop, SIGABRT makes it print every thread's stack.
    process = subprocess.Popen(
        [sys.executable, "-m", "syndicator.cli", command],
        cwd=tmp_path,
        env=env | {"PYTHONFAULTHANDLER": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)
            _, stacks = process.communicate(timeout=30)
            pytest.fail(f"`{command}` did not stop within 30 s of SIGTERM; where it was:\n{stacks[-8000:]}")
    assert first == f"config: {path} {CWD_REASON}\n"


def test_worker_prints_the_config_first(tmp_path: Path, redis_url: str, prefix: str, redis: Redis) -> None:
    path = user_config(tmp_path, "my-source")
    result = run_cli("worker", "--burst", cwd=tmp_path, env=redis_env(redis_url, prefix, tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0] == f"config: {path} {CWD_REASON}"
