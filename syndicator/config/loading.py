"""Which file is the configuration, and reading it.

The config a user edits is the one that runs: `--config PATH`, else `$SYNDICATOR_CONFIG`,
else `./config/syndicator.toml` in the current directory, else the copy bundled in the
wheel (`syndicator.bundled`). Nothing looks beside the installed package, because after a
non-editable `pip install .` that is site-packages, not the checkout being edited. Every
command says which file it loaded and why (`ConfigLocation.describe`).
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from syndicator.config.errors import ConfigError
from syndicator.config.schema import build_config
from syndicator.models import ALL_CATEGORY, Config

CONFIG_ENV = "SYNDICATOR_CONFIG"
CWD_CONFIG = Path("config") / "syndicator.toml"
SOURCE_TREE_CONFIG = Path(__file__).resolve().parents[2] / "config" / "syndicator.toml"


@dataclass(frozen=True)
class ConfigLocation:
    """A config file and why it was chosen; `key` names the choice in a read error."""

    path: Path
    reason: str
    key: str = "(file)"

    def describe(self) -> str:
        """The line every command prints on stderr: `config: /abs/path (from --config)`."""
        return f"config: {self.path} ({self.reason})"


def locate_config(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None, *, given_by: str = "--config"
) -> ConfigLocation:
    """`path` (given by `given_by`), else $SYNDICATOR_CONFIG, else ./config, else the bundled copy."""
    env = os.environ if environ is None else environ
    if path is not None:
        return ConfigLocation(_absolute(path), f"from {given_by}")
    if env.get(CONFIG_ENV):
        return ConfigLocation(_absolute(env[CONFIG_ENV]), f"from ${CONFIG_ENV}", CONFIG_ENV)
    if CWD_CONFIG.is_file():
        return ConfigLocation(_absolute(CWD_CONFIG), "from ./config in the current directory")
    return ConfigLocation(_bundled_config(), "the bundled default")


def default_config_path() -> Path:
    """The file `syndicator` would load with no `--config`: see `locate_config`."""
    return locate_config().path


def _absolute(path: str | Path) -> Path:
    return Path(path).expanduser().absolute()


_extracted: Path | None = None


def _bundled_config() -> Path:
    """The installed `syndicator.bundled/syndicator.toml` as a real file path.

    The wheel's `syndicator.bundled` has no `__init__.py`, so `files()` gives a MultiplexedPath whose
    children are ordinary paths in a normal wheel install. If the package lives in a zip,
    the whole bundled tree (config and the samples it names by relative `file:` paths)
    is copied once to a temporary directory so those paths still resolve.
    """
    global _extracted
    try:
        root = importlib.resources.files("syndicator.bundled")
    except ModuleNotFoundError:
        # An editable install cannot import a namespace package mapped outside the source
        # tree (setuptools' finder); there the bundled copy is the tree's own config/.
        return SOURCE_TREE_CONFIG
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


def load_config(
    path: str | Path | ConfigLocation | None = None, *, environ: Mapping[str, str] | None = None
) -> Config:
    """Read, validate and return the configuration; raise `ConfigError` on any mistake.

    `load_config(config.path)` reads the same file again (for a reload), with the
    `SYNDICATOR_*` overrides of `environ` (default: the process environment) applied again.
    """
    env = os.environ if environ is None else environ
    location = path if isinstance(path, ConfigLocation) else locate_config(path, env)
    data, digest = _read_toml(location.path, location.key)
    return build_config(data, location.path, digest, env)


def check_config(path: str | Path | ConfigLocation | None) -> tuple[bool, str]:
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


def _read_toml(file: Path, key: str) -> tuple[dict[str, Any], str]:
    """The parsed file and the sha256 of its bytes (what the user edited, comments and all)."""
    try:
        raw = file.read_bytes()
    except OSError as err:
        raise ConfigError(file, key, f"cannot read the file ({err.strerror or err})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(file, key, f"not UTF-8 text (bad byte at offset {err.start})") from None
    try:
        return tomllib.loads(text), hashlib.sha256(raw).hexdigest()
    except tomllib.TOMLDecodeError as err:
        # tomllib says "Invalid value (at line 3, column 8)": lift the position into the key.
        message = str(err)
        where = re.search(r"\(at line (\d+), column (\d+)\)$", message)
        if where:
            problem = message[: where.start()].strip()
            line_key = f"line {where.group(1)}, column {where.group(2)}"
            raise ConfigError(file, line_key, f"TOML syntax error: {problem}") from None
        raise ConfigError(file, key, f"TOML syntax error: {message}") from None
