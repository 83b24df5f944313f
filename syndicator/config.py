"""Load and validate the TOML configuration into `syndicator.models.Config`.

The file is checked whole before anything starts: every mistake becomes a `ConfigError`
whose text is one line, `path: key: problem`, with keys written as `server.port`,
`fetch.max_bytes`, `categories[1].slug`, `sources[2].poll_interval` (0-based index into
the `[[categories]]` / `[[sources]]` arrays, counted in file order). Unknown keys are
errors, with a suggestion, because a misspelt key silently falling back to its default
is the hardest config bug to see. `SYNDICATOR_*` environment variables override `[server]`.
"""

from __future__ import annotations

import importlib.resources
import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from syndicator.config_schema import ConfigError, Loader
from syndicator.models import ALL_CATEGORY, Config

__all__ = ["ConfigError", "check_config", "default_config_path", "load_config"]

CONFIG_ENV = "SYNDICATOR_CONFIG"


# ---------------------------------------------------------------- where the file is


def default_config_path() -> Path:
    """$SYNDICATOR_CONFIG, else the checkout's config/syndicator.toml, else the bundled copy."""
    return _default_path(os.environ)


def _default_path(environ: Mapping[str, str]) -> Path:
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    checkout = Path(__file__).resolve().parents[1] / "config" / "syndicator.toml"
    if checkout.is_file():
        return checkout
    return _bundled_config()


_extracted: Path | None = None


def _bundled_config() -> Path:
    """The installed `syndicator.bundled/syndicator.toml` as a real file path.

    `syndicator.bundled` has no `__init__.py`, so `files()` gives a MultiplexedPath whose
    children are ordinary paths in a normal wheel install. If the package lives in a zip,
    the whole bundled tree (config and the samples it names by relative `file:` paths)
    is copied once to a temporary directory so those paths still resolve.
    """
    global _extracted
    root = importlib.resources.files("syndicator.bundled")
    config = root / "syndicator.toml"
    if isinstance(config, Path):
        return config
    if _extracted is None:
        _extracted = Path(tempfile.mkdtemp(prefix="syndicator-bundled-"))
        _copy_tree(root, _extracted)
    return _extracted / "syndicator.toml"


def _copy_tree(source: Traversable, target: Path) -> None:
    for child in source.iterdir():
        if child.is_dir():
            (target / child.name).mkdir(exist_ok=True)
            _copy_tree(child, target / child.name)
        elif not child.name.endswith((".py", ".pyc")):
            (target / child.name).write_bytes(child.read_bytes())


# ---------------------------------------------------------------- public entry points


def load_config(path: str | Path | None = None, *, environ: Mapping[str, str] | None = None) -> Config:
    """Read, validate and return the configuration; raise `ConfigError` on any mistake."""
    env = os.environ if environ is None else environ
    from_env = path is None and bool(env.get(CONFIG_ENV))
    file = Path(path) if path is not None else _default_path(env)
    file = file.expanduser().absolute()
    data = _read_toml(file, CONFIG_ENV if from_env else "(file)")
    return Loader(file, env).build(data)


def check_config(path: str | Path | None) -> tuple[bool, str]:
    """For `syndicator check-config`: (True, one-line summary) or (False, the error)."""
    try:
        config = load_config(path)
    except ConfigError as err:
        return False, str(err)
    enabled = sum(1 for s in config.sources.values() if s.enabled)
    return True, (
        f"{config.path}: OK: {len(config.sources)} sources ({enabled} enabled), "
        f"{len(config.categories)} categories including '{ALL_CATEGORY}'"
    )


def _read_toml(file: Path, key: str) -> dict[str, Any]:
    try:
        raw = file.read_bytes()
    except OSError as err:
        raise ConfigError(file, key, f"cannot read the file ({err.strerror or err})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(file, key, f"not UTF-8 text (bad byte at offset {err.start})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        # tomllib says "Invalid value (at line 3, column 8)": lift the position into the key.
        message = str(err)
        where = re.search(r"\(at line (\d+), column (\d+)\)$", message)
        if where:
            problem = message[: where.start()].strip()
            line_key = f"line {where.group(1)}, column {where.group(2)}"
            raise ConfigError(file, line_key, f"TOML syntax error: {problem}") from None
        raise ConfigError(file, key, f"TOML syntax error: {message}") from None
