"""The base URL every link starts with (syndicator/runtime.py), and when it must be given.

A feed's self link must be an address readers can fetch: never a wildcard host a server
listens on, and never a worker's guess at where the web servers are.
"""

from __future__ import annotations

import pytest

from syndicator.models import Settings
from syndicator.runtime import base_url, public_url_required


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("0.0.0.0", "http://127.0.0.1:9090/"),
        ("::", "http://[::1]:9090/"),
        ("", "http://127.0.0.1:9090/"),
        ("127.0.0.1", "http://127.0.0.1:9090/"),
        ("192.0.2.7", "http://192.0.2.7:9090/"),
        ("::1", "http://[::1]:9090/"),
        ("feeds.internal", "http://feeds.internal:9090/"),
    ],
)
def test_a_wildcard_host_is_never_the_base_url(host: str, expected: str) -> None:
    assert base_url(Settings(host=host, port=9090)) == expected


def test_the_public_url_wins_and_ends_in_a_slash() -> None:
    settings = Settings(host="0.0.0.0", port=9090, public_url="https://feeds.example/sub")
    assert base_url(settings) == "https://feeds.example/sub/"


def test_web_and_worker_need_a_public_url_only_with_an_external_redis() -> None:
    external = Settings(redis_url="redis://redis:6379/0")
    assert public_url_required("web", external) == (
        "web: server.public_url (or SYNDICATOR_PUBLIC_URL) must be set with an external Redis: "
        "workers render the feeds' links and cannot know this server's address"
    )
    assert public_url_required("web", Settings()) is None  # embedded Redis: one machine
    assert (
        public_url_required("worker", Settings(redis_url="redis://r/0", public_url="https://f.example/"))
        is None
    )
