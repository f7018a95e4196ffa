"""scripts/check.py, the one command every check runs through: the environment its steps run in."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def _check_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_script", ROOT / "scripts" / "check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_steps_may_write_bytecode_and_require_spark() -> None:
    env = _check_module().child_env({"PYTHONDONTWRITEBYTECODE": "1", "HOME": "/h", "PATH": "/p"})
    assert env == {"HOME": "/h", "PATH": "/p", "SOCIALCREDIT_REQUIRE_SPARK": "1"}


def test_a_required_spark_already_set_is_kept() -> None:
    env = _check_module().child_env({"SOCIALCREDIT_REQUIRE_SPARK": "0"})
    assert env == {"SOCIALCREDIT_REQUIRE_SPARK": "0"}


def test_the_pytest_steps_run_duckdb_at_one_thread_and_the_benchmark_at_its_default() -> None:
    check = _check_module()
    names = [name for name, _ in check.steps(False, [])] + [name for name, _ in check.steps(True, [])]
    pytest_steps = [name for name in names if name.startswith("pytest")]
    assert pytest_steps == ["pytest (two processes)", "pytest (fast)"]
    for name in pytest_steps:
        assert check.step_env(name, {"HOME": "/h"}) == {"HOME": "/h", "SOCIALCREDIT_THREADS": "1"}
        assert check.step_env(name, {"SOCIALCREDIT_THREADS": "2"}) == {"SOCIALCREDIT_THREADS": "2"}  # a user's own
    for name in set(names) - set(pytest_steps):
        assert check.step_env(name, {"HOME": "/h"}) == {"HOME": "/h"}


def test_a_python_the_steps_start_writes_its_bytecode() -> None:
    # what the environment means to the interpreter the steps start (pytest, and the console runs of its tests)
    env = _check_module().child_env({"PYTHONDONTWRITEBYTECODE": "1"})
    out = subprocess.run(
        [sys.executable, "-c", "import sys; print(sys.dont_write_bytecode)"], env=env, capture_output=True, text=True
    )
    assert (out.returncode, out.stdout) == (0, "False\n")
