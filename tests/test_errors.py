"""Every exception Syndicator defines derives from the one root, `SyndicatorError`."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import syndicator
from syndicator.errors import SyndicatorError


def _own_exception_classes() -> list[type[BaseException]]:
    found: list[type[BaseException]] = []
    for info in pkgutil.walk_packages(syndicator.__path__, "syndicator."):
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__ == module.__name__:
                found.append(obj)
    return found


def test_every_own_exception_has_the_one_root() -> None:
    classes = _own_exception_classes()
    assert len(classes) >= 15  # the stages' own errors were all found
    strays = [f"{c.__module__}.{c.__qualname__}" for c in classes if not issubclass(c, SyndicatorError)]
    assert strays == []
