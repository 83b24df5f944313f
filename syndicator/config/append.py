"""Appending `[[sources]]` tables to the configuration file, keeping everything else.

`add-source` and `import-opml` change the file, which stays the single source of truth
(the admin API never adds sources). tomlkit edits the document in place, so the operator's
comments, order and formatting survive; each new table carries comment lines saying where
it came from. The new text is validated exactly as a reload would read it before it
replaces the file, atomically (a temporary file in the same folder, then `os.replace`),
keeping the file's permissions: a failed validation leaves the file untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT

from syndicator.config.errors import ConfigError
from syndicator.config.loading import load_config
from syndicator.models import Config


@dataclass(frozen=True)
class NewSource:
    """One `[[sources]]` table to append, and the comment lines written above its keys."""

    table: Mapping[str, Any]
    comments: Sequence[str] = ()


def appended_text(text: str, new: Sequence[NewSource], *, path: str | Path = "(config)") -> str:
    """`text` with the tables of `new` appended after its last `[[sources]]` table."""
    try:
        doc = tomlkit.parse(text)
    except TOMLKitError as exc:
        raise ConfigError(path, "(file)", f"TOML syntax error: {exc}") from None
    sources = doc.get("sources")
    if sources is None:
        sources = tomlkit.aot()
        doc.append("sources", sources)
    elif not isinstance(sources, AoT):
        raise ConfigError(path, "sources", "is not an array of [[sources]] tables; cannot append to it")
    if len(sources) and not sources[-1].as_string().endswith("\n\n"):
        sources[-1].add(tomlkit.nl())  # a blank line between the last table and ours
    for item in new:
        table = tomlkit.table()
        for line in item.comments:
            table.add(tomlkit.comment(" ".join(line.split())))
        for key, value in item.table.items():
            table.add(key, value)
        table.add(tomlkit.nl())  # a blank line before whatever follows
        sources.append(table)
    text = tomlkit.dumps(doc)
    return text.rstrip("\n") + "\n"  # no blank line left at the end of the file


def append_sources(
    path: str | Path, new: Sequence[NewSource], *, environ: Mapping[str, str] | None = None
) -> Config:
    """Append `new` to the file at `path`, validated first; the configuration it now holds.

    Raises ConfigError (naming the file and key, as `check-config` would) and leaves the
    file as it was when the new text does not validate.
    """
    file = Path(path)
    original = file.read_text(encoding="utf-8")
    text = appended_text(original, new, path=file)
    fd, temp_name = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".new", dir=file.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(OSError):
            os.chmod(temp, file.stat().st_mode & 0o7777)
        try:
            load_config(temp, environ=environ)
        except ConfigError as exc:
            # The error names the temporary file: name the real one instead.
            raise ConfigError(file, exc.key, exc.problem) from None
        os.replace(temp, file)
    finally:
        temp.unlink(missing_ok=True)
    return load_config(file, environ=environ)
