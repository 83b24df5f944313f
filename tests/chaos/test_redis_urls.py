"""Sentinel and Cluster URLs and masked passwords: what the configuration accepts and messages show."""

from __future__ import annotations

import pytest

from syndicator.store.connection import arq_settings, unreachable
from syndicator.values import (
    ClusterUrl,
    SentinelUrl,
    _redis_url,
    mask_url,
    parse_cluster_url,
    parse_sentinel_url,
)


def test_a_sentinel_url_names_the_sentinels_the_master_and_the_database():
    url = "redis+sentinel://:s3cret@10.0.0.1:26379,sentinel-b:26380/mymaster/2"
    assert parse_sentinel_url(url) == SentinelUrl(
        [("10.0.0.1", 26379), ("sentinel-b", 26380)], "mymaster", 2, "s3cret"
    )
    assert parse_sentinel_url("redis+sentinel://h:26379/m") == SentinelUrl([("h", 26379)], "m", 0, None)
    assert _redis_url(url) == url


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis+sentinel://h:26379", "names no master group"),
        ("redis+sentinel://h/m", "is not host:port"),
        ("redis+sentinel://h:26379/m/x", "is not a number"),
        ("redis+sentinel:///m", "names no sentinel"),
        ("sentinel://h:26379/m", "unsupported scheme"),
        ("redis+cluster://", "names no node"),
        ("redis+cluster://a:7000,,b:7001", "'' is not host:port"),
        ("redis+cluster://a:70000", "is not host:port"),
        ("redis+cluster://a:7000/2", "has no database"),
    ],
)
def test_bad_redis_urls_are_refused_with_the_reason(url, problem):
    with pytest.raises(ValueError, match=problem):
        _redis_url(url)


def test_a_cluster_url_names_some_nodes_and_the_password():
    url = "redis+cluster://:s3cret@10.0.0.1:7000,node-b:7001"
    assert parse_cluster_url(url) == ClusterUrl([("10.0.0.1", 7000), ("node-b", 7001)], "s3cret")
    assert parse_cluster_url("redis+cluster://[::1]:7000/0") == ClusterUrl([("::1", 7000)], None)
    assert mask_url(url) == "redis+cluster://:***@10.0.0.1:7000,node-b:7001"


def test_arq_gets_the_sentinels_as_a_host_list():
    settings = arq_settings("redis+sentinel://:pw@a:1,b:2/grp/3")
    assert settings.sentinel and settings.sentinel_master == "grp"
    assert (settings.host, settings.database, settings.password) == ([("a", 1), ("b", 2)], 3, "pw")


def test_passwords_never_reach_a_message():
    assert mask_url("redis://user:pw@host:6379/0") == "redis://user:***@host:6379/0"
    assert mask_url("redis+sentinel://:pw@a:1,b:2/m") == "redis+sentinel://:***@a:1,b:2/m"
    assert mask_url("unix:///run/redis.sock") == "unix:///run/redis.sock"
    line = unreachable("redis://:pw@h:1/0", ConnectionError("Error 111 connecting.\nmore"))
    assert line == "Redis unreachable at redis://:***@h:1/0: Error 111 connecting"
