"""benchmarks/report.py writes docs/benchmarks.md again from the results files and keeps what was written by hand."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import report  # noqa: E402

HAND = (
    "\n## Beijing, a step measured alone\n\n| measure | target | measured | met |\n|---|---|---|---|\n"
    "| snapshot load | ≤ 5 s | 4.2 s | yes |\n"
)


def _results(tmp_path: Path) -> Path:
    results = tmp_path / "results"
    results.mkdir()
    shutil.copy(ROOT / "benchmarks" / "results" / "small.json", results / "small.json")
    return results


def test_a_report_written_again_keeps_the_part_written_by_hand(tmp_path: Path) -> None:
    results, docs = _results(tmp_path), tmp_path / "docs"
    docs.mkdir()
    (docs / "benchmarks.md").write_text("# Benchmarks\n\nan old generated table\n\n" + report.KEPT + HAND, "utf-8")
    report.write_report(results, docs)
    text = (docs / "benchmarks.md").read_text("utf-8")
    assert "an old generated table" not in text  # the generated part is written anew
    assert text.startswith("# Benchmarks\n")
    assert text.endswith("\n" + report.KEPT + HAND)  # the hand-written part follows it, byte for byte
    assert text.count(report.KEPT) == 1
    report.write_report(results, docs)
    assert (docs / "benchmarks.md").read_text("utf-8") == text  # and writing it again changes nothing


def test_a_report_without_a_hand_written_part_is_the_generated_one(tmp_path: Path) -> None:
    results, docs = _results(tmp_path), tmp_path / "docs"
    report.write_report(results, docs)
    text = (docs / "benchmarks.md").read_text("utf-8")
    assert report.KEPT not in text
    assert text.startswith("# Benchmarks\n") and "\n| small |" in text and text.rstrip().endswith("(benchmarks.png)")
    assert report.kept_part(docs / "benchmarks.md") == ""
    assert report.kept_part(docs / "missing.md") == ""
