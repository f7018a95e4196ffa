"""A region's code and name are what its bundles name it by (their publisher, each recipient of an encrypted one), and
every importer refuses a bundle naming a region otherwise than by six ASCII digits and printable text of 1 to 200
characters. `region setup` and `region trust` took any: a region trusted under a name of 201 characters (or with a
line break, or a code in full-width digits) made every bundle encrypted to it refused by all its recipients, and a
name of 100 000 characters took `region setup` over a minute to print."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from socialcredit.errors import RegionError
from socialcredit.regions import set_region
from socialcredit.regions.bundle import (
    Recipient,
    encryption_public_text,
    load_encryption_key,
    load_private_key,
    new_encryption_key,
    new_private_key,
    open_bundle,
    public_key_text,
    seal_bundle,
)
from socialcredit.regions.keys import trust_key
from socialcredit.store import open_store

CLI = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"
BEIJING, TIANJIN = "110000", "120000"
MAX_REGION_NAME = 200  # characters: the longest name a bundle names a region by (regions/bundle.py)
SAID = "a region's name is printable text of 1 to 200 characters, e.g. Tianjin"


def _keys(folder: Path) -> tuple[str, str]:
    """A region's public signing and encryption keys (base64), from fresh private keys."""
    (folder / "t.key").write_bytes(new_private_key())
    (folder / "t.key.x25519").write_bytes(new_encryption_key())
    for made in ("t.key", "t.key.x25519"):
        (folder / made).chmod(0o600)  # a private key file is its owner's only, as `region keygen` writes it
    signing = public_key_text(load_private_key(folder / "t.key"))
    return signing, encryption_public_text(load_encryption_key(folder / "t.key.x25519"))


@pytest.mark.parametrize(
    ("code", "name", "refused"),
    [
        (TIANJIN, "T" * (MAX_REGION_NAME + 1), f"{SAID}; this one has 201"),
        (TIANJIN, "Tian\njin", f"{SAID}; this one holds the control character U+000A"),
        (TIANJIN, "Tian\u202ejin", f"{SAID}; this one holds the control character U+202E"),
        ("１２００００", "Tianjin", "region code '１２００００' must be six digits 0-9, e.g. 110000 for Beijing"),
        (TIANJIN, "  ", "a region needs a name, printable text of 1 to 200 characters, e.g. Tianjin"),
    ],
)
def test_trust_refuses_a_region_no_bundle_can_name(tmp_path: Path, code: str, name: str, refused: str) -> None:
    signing, encryption = _keys(tmp_path)
    with open_store(tmp_path / "b.duckdb", create=True, key="") as store:
        set_region(store, BEIJING, "Beijing")
        with pytest.raises(RegionError) as exc:
            trust_key(store, code, name, signing, encryption_key=encryption)
        assert str(exc.value) == refused
        assert store.one("SELECT count(*) FROM region_keys") == 0
        assert store.one("SELECT count(*) FROM region_publishers") == 0
        entries = store.rows("SELECT detail FROM audit_log WHERE action = 'region_trust_refused'")
        assert [json.loads(e["detail"])["refused"] for e in entries] == [refused]


def test_a_region_trusted_under_the_longest_name_gets_bundles_it_opens(tmp_path: Path) -> None:
    """The limit is the importer's: a recipient named by 200 characters opens the bundle sealed to it."""
    signing, encryption = _keys(tmp_path)
    name = "T" * MAX_REGION_NAME
    with open_store(tmp_path / "b.duckdb", create=True, key="") as store:
        set_region(store, BEIJING, "Beijing")
        trust_key(store, TIANJIN, name, signing, encryption_key=encryption)
        assert store.one("SELECT name FROM region_publishers WHERE region_code = ?", [TIANJIN]) == name
    publisher = tmp_path / "beijing.key"
    publisher.write_bytes(new_private_key())
    publisher.chmod(0o600)
    key = load_private_key(publisher)
    payload = {
        "format": "socialcredit-exchange/1",
        "publisher": {"region": BEIJING, "name": "Beijing"},
        "sequence": 1,
        "identities": [],
        "records": [],
        "list_entries": [],
    }
    data = seal_bundle(payload, key, recipients={TIANJIN: (name, encryption)})
    opened = open_bundle(
        data,
        {BEIJING: ("Beijing", public_key_text(key))},
        recipient=Recipient(TIANJIN, name, load_encryption_key(tmp_path / "t.key.x25519"), "t.key.x25519"),
    )
    assert opened.sequence == 1


@pytest.mark.parametrize(
    ("code", "name", "refused"),
    [
        (BEIJING, "B" * (MAX_REGION_NAME + 1), f"{SAID}; this one has 201"),
        (BEIJING, "Bei\tjing", f"{SAID}; this one holds the control character U+0009"),
        ("１１００００", "Beijing", "region code '１１００００' must be six digits 0-9, e.g. 110000 for Beijing"),
    ],
)
def test_setup_refuses_a_region_no_bundle_can_name(tmp_path: Path, code: str, name: str, refused: str) -> None:
    with open_store(tmp_path / "b.duckdb", create=True, key="") as store:
        with pytest.raises(RegionError) as exc:
            set_region(store, code, name)
        assert str(exc.value) == refused
        assert store.one("SELECT count(*) FROM store_info WHERE key LIKE 'region_%'") == 0


def test_the_command_refuses_a_name_of_100000_characters_at_once(tmp_path: Path) -> None:
    db = tmp_path / "b.duckdb"
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB"} | {"SOCIALCREDIT_DB_KEY": ""}
    subprocess.run([CLI, "init", "--db", str(db)], capture_output=True, env=env, check=True, timeout=120)
    done = subprocess.run(
        [CLI, "region", "setup", BEIJING, "B" * 100_000, "--db", str(db)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert len(done.stdout) < 1000, "the name was taken and printed"
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.strip().splitlines()[-1] == f"error: {SAID}; this one has 100000"
