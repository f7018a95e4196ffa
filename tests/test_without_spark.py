"""The package installs and works without PySpark: it is an optional extra, imported only for a Spark run."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib.metadata import requires
from pathlib import Path

import pytest


def test_pyspark_is_only_an_optional_extra() -> None:
    needs = [r for r in requires("socialcredit") or [] if r.lower().startswith("pyspark")]
    assert needs, "the spark extra names pyspark"
    assert all('extra == "spark"' in r for r in needs), needs


@pytest.mark.slow
def test_everything_imports_and_a_spark_run_says_what_to_install_when_pyspark_is_missing(tmp_path: Path) -> None:
    # A child interpreter in which `import pyspark` fails, as on a machine without it.
    code = textwrap.dedent(
        f"""
        import sys
        for name in ("pyspark", "pyspark.sql", "py4j"):
            sys.modules[name] = None
        import pkgutil, importlib, socialcredit
        for mod in pkgutil.walk_packages(socialcredit.__path__, "socialcredit."):
            importlib.import_module(mod.name)
        import socialcredit.cli
        sys.argv = ["socialcredit", "score", "--engine", "spark", "--policy", "beijing",
                    "--input", {str(tmp_path)!r}, "--out", {str(tmp_path / "out")!r}]
        socialcredit.cli.main()
        """
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert "error: the spark engine needs PySpark: pip install 'socialcredit[spark]' (and Java 17 or newer)" in (
        " ".join(run.stderr.split())
    )
