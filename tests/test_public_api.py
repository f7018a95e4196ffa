"""The public Python API: ``socialcredit`` and ``socialcredit.registry`` re-export their names flat, lazily."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

import socialcredit
import socialcredit.registry

ROOT = Path(__file__).resolve().parent.parent
SRC = Path(socialcredit.__file__).resolve().parent.parent
HEAVY = ("duckdb", "pyspark", "fastapi", "starlette", "uvicorn")


@pytest.mark.parametrize("package", [socialcredit, socialcredit.registry], ids=lambda m: m.__name__)
def test_every_name_in_all_resolves(package: ModuleType) -> None:
    names = package.__all__
    assert len(names) == len(set(names)), "a name is listed twice in __all__"
    for name in names:
        assert getattr(package, name) is not None, name
    assert set(names) <= set(dir(package))


@pytest.mark.parametrize("package", [socialcredit, socialcredit.registry], ids=lambda m: m.__name__)
def test_names_are_the_defining_modules_own(package: ModuleType) -> None:
    for name in package.__all__:
        if name == "__version__":
            continue
        value = getattr(package, name)
        home = importlib.import_module(package._WHERE[name])
        assert getattr(home, name) is value, name


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError):
        _ = socialcredit.no_such_name
    with pytest.raises(AttributeError):
        _ = socialcredit.registry.no_such_name
    # a submodule is still imported by name: `from socialcredit import example`
    from socialcredit import example

    assert example.__name__ == "socialcredit.example"


def test_the_errors_are_the_whole_tree() -> None:
    import socialcredit.errors

    assert set(socialcredit.errors.__all__) <= set(socialcredit.__all__)


def _fresh(code: str) -> str:
    """Run ``code`` in a new interpreter on these sources; its standard output."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


def test_import_is_cheap() -> None:
    """``import socialcredit`` (run first by every ``socialcredit.*`` import) and ``socialcredit.registry`` load
    no engine and no web framework, even when the version is asked."""
    out = _fresh(
        "import json, sys, socialcredit, socialcredit.registry\n"
        "socialcredit.__version__\n"
        f"print(json.dumps([socialcredit.__file__, sorted(m for m in {HEAVY!r} if m in sys.modules)]))"
    )
    where, loaded = json.loads(out)
    assert Path(where).resolve() == Path(socialcredit.__file__).resolve()
    assert loaded == []


# What the command line's start needs no module of: the web framework and server, the engines other than DuckDB,
# the data frames, asyncio (only a server needs it) and pydantic-settings (the settings are a plain pydantic model).
# Every `socialcredit` command pays for what its start imports: 0.7 CPU seconds, most of the suite's console runs.
CLI_UNNEEDED = (*HEAVY[1:], "asyncio", "pydantic_settings", "pandas", "numpy", "pyarrow", "splink", "httpx")


def test_the_command_line_starts_without_what_it_does_not_need() -> None:
    out = _fresh(
        "import json, sys, socialcredit.cli\n"
        f"print(json.dumps(sorted(m for m in {CLI_UNNEEDED!r} if m in sys.modules)))"
    )
    assert json.loads(out) == []


def test_version_is_the_installed_one() -> None:
    assert socialcredit.__version__ == importlib.metadata.version("socialcredit")


def test_source_version_matches_pyproject() -> None:
    """Outside an install, ``__version__`` falls back to the version written in pyproject.toml."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["version"] == socialcredit._SOURCE_VERSION


def test_version_without_an_install(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert socialcredit._version() == socialcredit._SOURCE_VERSION
