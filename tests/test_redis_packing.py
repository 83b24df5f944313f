"""Commands are packed by hiredis, and Redis receives the bytes redis-py's own packer makes.

syndicator/store/connection.py swaps redis-py's asyncio packer (Python) for hiredis's (C)
on every connection class it uses. These tests pin what must not change with it: the
bytes on the wire, the values read back from a real Redis, and the error for a value
Redis cannot take.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import hiredis
import pytest
from redis.asyncio.connection import Connection, UnixDomainSocketConnection
from redis.exceptions import DataError

from syndicator.embedded import EmbeddedRedis
from syndicator.store.connection import (
    PackedConnection,
    PackedSSLConnection,
    PackedUnixConnection,
    connect,
)

COMMANDS = [
    ("SET", "k", "plain"),
    ("SET", "k", "ünïcödé 中文", "EX", 60),
    ("HSET", "h", "f", 1.5, "g", 10**20, "n", -3, "z", 0.1),
    ("SET", "big", "x" * 70_000),  # over redis-py's 6,000-byte buffer cut-off
    ("SET", "raw", b"\x00\xff\r\n" * 2_000),
    ("SET", "view", memoryview(b"from a memoryview")),
    ("CONFIG GET", "maxmemory"),  # a command name with a space is split in two
    (b"CONFIG GET", b"maxmemory"),
    ("EVALSHA", "0" * 40, 2, "{a:1}k", "{a:1}j", "arg"),
]


def _wire(chunks: list[bytes | memoryview]) -> bytes:
    return b"".join(bytes(chunk) for chunk in chunks)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: str(c[0]))
def test_hiredis_packs_the_bytes_redis_py_would(command: tuple) -> None:
    assert _wire(PackedConnection().pack_command(*command)) == _wire(Connection().pack_command(*command))


@pytest.mark.parametrize("value", [None, True, object(), [1, 2]], ids=lambda v: type(v).__name__)
def test_a_value_redis_cannot_take_raises_redis_py_s_own_error(value: object) -> None:
    with pytest.raises(DataError) as ours:
        PackedConnection().pack_command("SET", "k", value)
    with pytest.raises(DataError) as theirs:
        Connection().pack_command("SET", "k", value)
    assert str(ours.value) == str(theirs.value)


def test_each_url_scheme_gets_the_packing_connection_of_its_kind(tmp_path: Path) -> None:
    kinds = {
        "redis://127.0.0.1:6379/3": PackedConnection,
        "rediss://127.0.0.1:6380/0": PackedSSLConnection,
        f"unix://{tmp_path}/redis.sock?db=2": PackedUnixConnection,
    }
    for url, kind in kinds.items():
        pool = connect(url).connection_pool
        assert pool.connection_class is kind, url
    unix = connect(f"unix://{tmp_path}/redis.sock?db=2").connection_pool
    assert issubclass(unix.connection_class, UnixDomainSocketConnection)
    assert unix.connection_kwargs["path"] == f"{tmp_path}/redis.sock"
    assert unix.connection_kwargs["db"] == 2


class _Recorder:
    """A loopback server that keeps what it was sent and answers each command (read with
    hiredis's RESP reader) +PONG for PING, +OK otherwise."""

    def __init__(self) -> None:
        self.received = bytearray()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        commands = hiredis.Reader()
        while data := await reader.read(65536):
            self.received += data
            commands.feed(data)
            while (command := commands.gets()) is not False:
                writer.write(b"+PONG\r\n" if command[0].upper() == b"PING" else b"+OK\r\n")
            await writer.drain()
        writer.close()


async def test_a_server_receives_exactly_what_redis_py_s_packer_makes() -> None:
    recorder = _Recorder()
    server = await asyncio.start_server(recorder.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = connect(f"redis://127.0.0.1:{port}/0", retries=0)
    try:
        command = ("SET", "story", "ünïcödé " + "y" * 10_000)
        await client.execute_command(*command)
        # The handshake (CLIENT SETINFO …) comes first; the command is the last thing sent.
        assert bytes(recorder.received).endswith(_wire(Connection().pack_command(*command)))
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()


async def test_values_read_back_from_a_real_redis_are_the_ones_written(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path, appendonly=False) as server:
        client = connect(server.url)
        try:
            text = "ünïcödé 中文 " * 1_000
            await client.set("t", text)
            await client.hset("h", mapping={"f": 1.5, "g": 10**20, "b": b"\x00\xff"})
            await client.set("v", memoryview(b"view"))
            assert (await client.get("t")).decode() == text
            assert await client.hgetall("h") == {
                b"f": b"1.5",
                b"g": b"100000000000000000000",
                b"b": b"\x00\xff",
            }
            assert await client.get("v") == b"view"
            assert await client.config_get("maxmemory") == {"maxmemory": "0"}
        finally:
            await client.aclose()
