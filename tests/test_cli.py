"""The `syndicator` command as an operator runs it: real processes, real output, exit codes."""

from __future__ import annotations

import json

import pytest
import yaml

from syndicator.embedded import EmbeddedRedis
from syndicator.store.connection import connect
from tests.builders import items, rss, write_config
from tests.conftest import REPO, SITE_ZHBF
from tests.processes import run_cli


def test_bad_config_stops_every_command_with_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[sources]]\nid = "a"\nurl = "https://example.com/feed"\npol_interval = "5m"\n')
    for command in (
        ["check-config", str(bad)],
        ["serve", "--config", str(bad)],
        ["ingest", "--config", str(bad)],
    ):
        result = run_cli(*command)
        assert result.returncode == 2, command
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert str(bad) in lines[0] and "sources[0].pol_interval" in lines[0] and "poll_interval" in lines[0]


def test_check_config_accepts_the_default():
    result = run_cli("check-config")
    assert result.returncode == 0, result.stderr
    assert "OK: 4 sources" in result.stdout


def test_unknown_source_id_is_named(tmp_path):
    result = run_cli("ingest", "no-such-source", env={"SYNDICATOR_DATA_DIR": str(tmp_path / "d")})
    assert result.returncode == 2
    assert "no-such-source" in result.stderr and "sample-rss" in result.stderr


def test_ingest_prints_progress_per_source(tmp_path, redis_url, prefix, redis):
    (tmp_path / "feed.xml").write_bytes(rss(items("local", 3)))
    config = write_config(
        tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        categories=[{"slug": "tech", "title": "Technology"}],
        sources=[
            {"id": "local", "url": "file:feed.xml", "categories": ["tech"]},
            # Port 1 on loopback: nothing listens there, so the connection is refused.
            {"id": "gone", "url": "http://127.0.0.1:1/feed.xml", "allow_private_network": True},
        ],
    )
    result = run_cli("ingest", "--config", config.path)
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 1  # one source failed
    assert lines[0] == "[1/2] local: 3 new"
    assert lines[1].startswith("[2/2] source gone (http://127.0.0.1:1/feed.xml): ")
    assert lines[1].count("gone") == 1 and lines[1].count("http://127.0.0.1:1/feed.xml") == 1
    assert "refused" in lines[1]
    again = run_cli("ingest", "local", "--config", config.path)
    assert again.returncode == 0 and again.stdout.strip() == "[1/1] local: not modified (304)"


async def test_embedded_redis_keeps_data_across_restart(tmp_path):
    server = EmbeddedRedis(tmp_path / "data").start()
    client = connect(server.url)
    try:
        await client.set("survives", "yes")
    finally:
        await client.aclose()
        server.stop()
    assert (tmp_path / "data" / "redis.log").exists()
    server = EmbeddedRedis(tmp_path / "data").start()
    client = connect(server.url)
    try:
        assert await client.get("survives") == b"yes"
    finally:
        await client.aclose()
        server.stop()


def test_compose_file_runs_redis_with_aof_and_supervised_processes():
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"redis", "web", "worker"}
    assert "--appendonly" in services["redis"]["command"]
    assert services["redis"]["command"][services["redis"]["command"].index("--appendonly") + 1] == "yes"
    assert "redis-data:/data" in services["redis"]["volumes"]
    for name in services:
        assert services[name]["restart"] in ("always", "unless-stopped"), name
        assert services[name]["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
    for name in ("web", "worker"):
        service = services[name]
        assert service["environment"]["SYNDICATOR_REDIS_URL"].startswith("redis://redis:")
        assert service["command"] == ["syndicator", name]
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"


def test_compose_builds_one_image_for_web_and_worker():
    services = yaml.safe_load((REPO / "compose.yaml").read_text())["services"]
    assert services["web"]["image"] == services["worker"]["image"]
    assert [name for name in services if "build" in services[name]] == ["web"]
    assert services["worker"]["pull_policy"] == "never"  # it exists only as web's build


def test_compose_takes_its_configuration_from_a_read_only_mount():
    services = yaml.safe_load((REPO / "compose.yaml").read_text())["services"]
    for name in ("web", "worker"):
        config = services[name]["environment"]["SYNDICATOR_CONFIG"]
        mounts = [volume.rsplit(":", 2) for volume in services[name]["volumes"]]
        [(source, target, mode)] = [m for m in mounts if config.startswith(m[1] + "/")]
        assert mode == "ro", name
        # The default source is the repository's config directory (the bundled samples).
        assert source == "${SYNDICATOR_CONFIG_DIR:-./config}"
        assert (REPO / "config" / config.removeprefix(target + "/")).is_file()


def test_compose_publishes_the_web_port_on_loopback_only():
    services = yaml.safe_load((REPO / "compose.yaml").read_text())["services"]
    assert services["web"]["ports"] == ["127.0.0.1:8080:8080"]
    assert "ports" not in services["worker"] and "ports" not in services["redis"]


def test_compose_healthchecks_reflect_each_process():
    services = yaml.safe_load((REPO / "compose.yaml").read_text())["services"]
    web = " ".join(services["web"]["healthcheck"]["test"])
    assert "/readyz" in web and "curl" not in web  # slim images have no curl
    # arq's check: the worker's Redis answers and the queue's health-check key is fresh.
    worker = services["worker"]["healthcheck"]["test"]
    assert worker == ["CMD", "arq", "--check", "workers.main.WorkerSettings"]


SEED_URL = "http://www.zhbf.example/qinggan/gushi/20231123/8812.html"


@pytest.mark.parametrize("name", ["article-8812.utf8.html", "article-8812.gbk.html"])
def test_extract_command_prints_the_expected_article(name):
    site = SITE_ZHBF
    expected = json.loads((site / "article-8812.expected.json").read_text())
    result = run_cli("extract", str(site / name), "--url", SEED_URL, "--json")
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    for key in ("url", "title", "category_path", "source", "author", "published_date", "published_precision"):
        assert got[key] == expected[key], key
    assert got["language"] == expected["language"]
    assert got["published"] == "2023-11-23T00:00:00+08:00"
    assert got["paragraphs"] == expected["paragraphs"]
    assert [{"src": i["src"], "caption": i["caption"]} for i in got["images"]] == expected["images"]
    for banned in expected["must_not_contain"]:
        assert banned not in result.stdout, banned


def test_extract_command_names_what_is_wrong(tmp_path):
    missing = run_cli("extract", str(tmp_path / "nope.html"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr and "nope.html" in missing.stderr
    unknown = run_cli("extract", str(tmp_path / "nope.html"), "--source", "no-such")
    assert unknown.returncode == 1 and "unknown source 'no-such'" in unknown.stderr
    empty = tmp_path / "empty.html"
    empty.write_text("<html><body></body></html>")
    no_article = run_cli("extract", str(empty), "--url", "https://example.com/a.html")
    assert no_article.returncode == 1 and "no article" in no_article.stderr
    assert "Traceback" not in no_article.stderr
