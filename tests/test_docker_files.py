"""What can be read off the Dockerfile and .dockerignore without building anything.

CI builds and runs the image too (.ci/image-check); these tests name the rule a change
breaks, in a second, on any machine.
"""

from __future__ import annotations

import json
import re
import shlex

import yaml

from tests.conftest import REPO


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in (REPO / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        lines.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends in a continuation"
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def index_of(predicate) -> int:
    found = [n for n, (op, args) in enumerate(instructions()) if predicate(op, args)]
    assert found, "no such instruction"
    return found[0]


def env() -> dict[str, str]:
    values: dict[str, str] = {}
    for op, args in instructions():
        if op == "ENV":
            values.update(part.split("=", 1) for part in shlex.split(args))
    return values


def healthcheck_command() -> list[str]:
    [args] = [args for op, args in instructions() if op == "HEALTHCHECK"]
    command = json.loads(args[args.index("CMD ") + 4 :])
    return ["CMD", *command]


def test_base_is_an_argument_defaulting_to_python_slim():
    ops = instructions()
    assert ops[0] == ("ARG", "BASE=python:3.11-slim")
    assert ops[1] == ("FROM", "${BASE}")
    assert [op for op, _ in ops].count("FROM") == 1


def test_installs_into_a_venv_on_the_path():
    assert any(op == "RUN" and "python3 -m venv /opt/venv" in args for op, args in instructions())
    assert env()["PATH"].startswith("/opt/venv/bin:")


def test_dependencies_are_installed_before_the_source_is_copied():
    """A code edit must not reinstall the dependencies: the layer installing them sees
    pyproject.toml only."""
    ops = instructions()
    copy_pyproject = index_of(lambda op, args: op == "COPY" and args.split()[0] == "pyproject.toml")
    install_deps = index_of(lambda op, args: op == "RUN" and "pip install" in args)
    first_source = index_of(lambda op, args: op == "COPY" and args.split()[0] != "pyproject.toml")
    assert copy_pyproject < install_deps < first_source
    assert "pyproject.toml" in ops[install_deps][1]
    # The source install then adds the project alone, offline.
    source_install = index_of(lambda op, args: op == "RUN" and "pip install --no-deps" in args)
    assert source_install > first_source and "--no-build-isolation" in ops[source_install][1]


def test_runs_as_an_unprivileged_user_owning_the_data_volume():
    ops = instructions()
    [user] = [args for op, args in ops if op == "USER"]
    assert user.split(":")[0] not in ("root", "0")
    volume = index_of(lambda op, args: op == "VOLUME")
    assert json.loads(ops[volume][1]) == ["/data"]
    assert env()["SYNDICATOR_DATA_DIR"] == "/data"
    # Ownership is set before VOLUME (Docker discards later changes to a volume's path).
    chown = index_of(lambda op, args: op == "RUN" and re.search(r"chown \S+ /data", args) is not None)
    assert chown < volume
    owner = re.search(r"chown (\S+) /data", ops[chown][1]).group(1)
    assert owner == user


def test_serves_the_bundled_samples_on_every_interface_by_default():
    [cmd] = [args for op, args in instructions() if op == "CMD"]
    assert json.loads(cmd) == ["syndicator", "serve"]
    values = env()
    assert values["SYNDICATOR_HOST"] == "0.0.0.0"
    assert values["SYNDICATOR_PORT"] == "8080"
    assert values["SYNDICATOR_PUBLIC_URL"] == "http://localhost:8080/"  # a default users override
    assert "SYNDICATOR_CONFIG" not in values  # the embedded default, samples included
    assert ("EXPOSE", "8080") in instructions()


def test_healthcheck_asks_readyz_with_the_standard_library():
    command = healthcheck_command()
    assert command[:3] == ["CMD", "python3", "-c"]
    assert "urllib.request" in command[3] and "/readyz" in command[3]


def test_compose_web_healthcheck_is_the_images():
    services = yaml.safe_load((REPO / "compose.yaml").read_text())["services"]
    assert services["web"]["healthcheck"]["test"] == healthcheck_command()


# Docker's .dockerignore rules: patterns in order, the last that matches decides, "!" lets a
# path back in, and a path is matched when it or any directory above it is.
def ignored(path: str) -> bool:
    verdict = False
    for line in (REPO / ".dockerignore").read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.removeprefix("!").strip("/")
        regex = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*")
        regex = regex.replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        parts = path.split("/")
        if any(re.fullmatch(regex, "/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            verdict = not negate
    return verdict


def test_dockerignore_keeps_repository_state_and_data_out_of_the_context():
    for path in (
        ".git/HEAD",
        ".venv/bin/python",
        ".syndicator-data/appendonly.aof",
        "syndicator/.syndicator-data/redis.sock",
        "dump.rdb",
        "tests/test_cli.py",
        "syndicator/__pycache__/cli.cpython-311.pyc",
        ".env",
    ):
        assert ignored(path), path


def test_dockerignore_lets_in_everything_the_dockerfile_copies():
    for op, args in instructions():
        if op == "COPY":
            source = args.split()[0]
            assert not ignored(source), source
            inside = (REPO / source).rglob("*")
            for path in (p for p in inside if p.is_file() and "__pycache__" not in p.parts):
                assert not ignored(path.relative_to(REPO).as_posix()), path
    for path in ("syndicator/cli.py", "config/samples/tech.rss.xml", "workers/main.py", "README.md"):
        assert not ignored(path), path
