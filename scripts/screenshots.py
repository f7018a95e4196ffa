#!/usr/bin/env python3
"""Refresh docs/screenshots: run the browser tests (Debian's Chromium) and keep the copies they make of the
resident portal and the operator dashboard (the top of each page, 1000 px wide), of the public policy page, the
freeze control, a refused resident's overview, a listing's details and the repair application (a phone's and a
desktop's screen), reduced to 64 colours so that each
stays under 150 KB (Pillow, from the bench extra). Every page's full screenshot is left in the temporary folder
printed at the end."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    shots = Path(tempfile.mkdtemp(prefix="socialcredit-screenshots-"))
    env = os.environ | {"SOCIALCREDIT_SCREENSHOTS": str(shots), "SOCIALCREDIT_REQUIRE_BROWSER": "1"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/test_web.py",
            "tests/test_policy_pages.py",
            "tests/test_web_phone.py",
            "tests/test_freeze_web.py",
            "tests/test_repair_workflow.py",
            "tests/test_matchmaking.py",
            "-m",
            "browser",
            "-q",
        ],
        cwd=ROOT,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        return done.returncode
    target = ROOT / "docs" / "screenshots"
    target.mkdir(parents=True, exist_ok=True)
    from PIL import Image

    # the public policy page at phone (390 x 844) and desktop (1280 x 900) size, as the browser showed it
    # and a refused resident's overview at both sizes, the records as cards on a phone (tests/test_web_phone.py)
    names = ("portal.png", "dashboard.png", "policy-phone.png", "policy-desktop.png")
    names += ("overview-phone.png", "overview-desktop.png", "records-phone.png")
    # the matchmaking site's matches page (tests/test_matchmaking.py)
    names += ("matchmaking-matches.png",)
    # the freeze control, and a refused resident's overview, a listing's details and the repair application at both
    # sizes (tests/test_freeze_web.py, tests/test_repair_workflow.py)
    for kind in ("freeze", "refused-overview", "listing", "repair"):
        names += (f"{kind}-phone.png", f"{kind}-desktop.png")
    for name in names:
        with Image.open(shots / name) as image:
            image.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(target / name, optimize=True)
        size = (target / name).stat().st_size
        print(f"{target / name}: {size:,} bytes")
        if size >= 150_000:
            print(f"{name} is too large for the repository (150 KB at most)")
            return 1
    print(f"Every page: {shots}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
