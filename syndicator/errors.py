"""The root of every exception Syndicator raises on purpose.

Each stage keeps its own error class beside its code (`ConfigError`, `FetchError`,
`ParseError`, …), and every one of them derives from `SyndicatorError`, so a caller at an
edge (the CLI, a worker job, a web handler) can tell "a problem we named" from a bug with
one `except SyndicatorError`. Errors that are also bad values keep `ValueError` as a second
base, so code that caught them as values still does.
"""

from __future__ import annotations


class SyndicatorError(Exception):
    """Base class of Syndicator's own exceptions; `str(err)` is the one-line message."""
