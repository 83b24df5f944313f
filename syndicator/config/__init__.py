"""The configuration: one TOML file, validated whole before anything starts.

Every mistake becomes a `ConfigError` whose text is one line, `path: key: problem`, with
keys written as `server.port`, `fetch.max_bytes`, `categories[1].slug`,
`sources[2].poll_interval` (0-based, in file order). The records of `syndicator.models`
declare the keys (a field is a key, typed with `syndicator.values`); `schema.py` derives
the strict pydantic tables from them, `errors.py` writes the one-line messages and
`loading.py` chooses which file is read. `SYNDICATOR_*` environment variables override `[server]`.
"""

from syndicator.config.errors import ConfigError
from syndicator.config.loading import (
    ConfigLocation,
    check_config,
    default_config_path,
    load_config,
    locate_config,
)

__all__ = [
    "ConfigError",
    "ConfigLocation",
    "check_config",
    "default_config_path",
    "load_config",
    "locate_config",
]
