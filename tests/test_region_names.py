"""A region's code and name are what its bundles name it by (their publisher, each recipient of an encrypted one), and
every importer refuses a bundle naming a region otherwise than by six ASCII digits and printable text of 1 to 200
characters. `region setup` and `region trust` took any: a region trusted under a name of 201 characters (or with a
line break, or a code in full-width digits) made every bundle encrypted to it refused by all its recipients, and a
name of 100 000 characters took `region setup` over a minute to print."""

from __future__ import annotations

import json
import os
import shlex
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
from socialcredit.regions.keys import encryption_recipients, revoke_key, trust_key, untrust_region
from socialcredit.store import Store, open_store

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


FULL_WIDTH = "１２００００"


def _legacy(store: Store, tmp_path: Path, *, code: str = TIANJIN, name: str = "Tianjin") -> str:
    """A region trusted before `region trust` checked codes and names: trusted as Tianjin, then the rows changed to
    ``code`` and ``name`` as the program before wrote them. Returns the key's fingerprint."""
    signing, encryption = _keys(tmp_path)
    fp = trust_key(store, TIANJIN, "Tianjin", signing, encryption_key=encryption).fingerprint
    store.execute("UPDATE region_keys SET region_code = ? WHERE region_code = ?", [code, TIANJIN])
    store.execute("UPDATE region_publishers SET region_code = ?, name = ? WHERE region_code = ?", [code, name, TIANJIN])
    return fp


def test_a_region_trusted_under_a_full_width_code_can_be_revoked_and_untrusted(tmp_path: Path) -> None:
    with open_store(tmp_path / "b.duckdb", create=True, key="") as store:
        set_region(store, BEIJING, "Beijing")
        fp = _legacy(store, tmp_path, code=FULL_WIDTH)
        assert revoke_key(store, FULL_WIDTH, fp, "the key leaked").revoked_reason == "the key leaked"
        assert untrust_region(store, FULL_WIDTH, "no longer exchanged with") == [fp]
        assert store.one("SELECT untrusted_reason FROM region_keys WHERE region_code = ?", [FULL_WIDTH]) == (
            "no longer exchanged with"
        )
        # a malformed code under which nothing is stored is still refused as one
        with pytest.raises(RegionError) as exc:
            untrust_region(store, "１３００００", "x")
        assert str(exc.value) == "region code '１３００００' must be six digits 0-9"
        with pytest.raises(RegionError) as exc:
            revoke_key(store, "１３００００", fp, "x")
        assert str(exc.value) == "region code '１３００００' must be six digits 0-9"


@pytest.mark.parametrize(
    ("code", "name", "problem"),
    [
        (FULL_WIDTH, "Tianjin", "region code '１２００００' must be six digits 0-9, e.g. 110000 for Beijing"),
        (TIANJIN, "T" * (MAX_REGION_NAME + 1), f"{SAID}; this one has 201"),
    ],
)
def test_no_bundle_is_encrypted_to_a_region_trusted_under_a_code_or_name_no_bundle_can_name(
    tmp_path: Path, code: str, name: str, problem: str
) -> None:
    with open_store(tmp_path / "b.duckdb", create=True, key="") as store:
        set_region(store, BEIJING, "Beijing")
        _legacy(store, tmp_path, code=code, name=name)
        with pytest.raises(RegionError) as exc:
            encryption_recipients(store)
    shown_name = repr(name) if len(name) <= 64 else repr(name[:63] + "…")
    assert str(exc.value) == (
        f"not exported: the store is encrypted and the region trusted here under the code {code!r} and the name "
        f"{shown_name} cannot be named in a bundle ({problem}): every region would refuse a bundle encrypted to it. "
        f"Stop sending to it with `socialcredit region untrust {shlex.quote(code)} --reason TEXT`, or trust it again "
        "under a valid code and name (`socialcredit region trust CODE NAME --key KEY --encryption-key KEY`); then "
        "export again. Nothing was written."
    )


def test_a_name_of_200_characters_with_a_space_each_side_is_trusted_stripped(tmp_path: Path) -> None:
    signing, encryption = _keys(tmp_path)
    name = "T" * MAX_REGION_NAME
    with open_store(tmp_path / "b.duckdb", create=True, key="") as store:
        set_region(store, BEIJING, "Beijing")
        trust_key(store, TIANJIN, f" {name} ", signing, encryption_key=encryption)
        assert store.one("SELECT name FROM region_publishers WHERE region_code = ?", [TIANJIN]) == name


def test_a_refused_name_is_kept_in_the_audit_chain_cut_with_its_length(tmp_path: Path) -> None:
    signing, encryption = _keys(tmp_path)
    with open_store(tmp_path / "b.duckdb", create=True, key="") as store:
        set_region(store, BEIJING, "Beijing")
        with pytest.raises(RegionError):
            trust_key(store, TIANJIN, "T" * 100_000, signing, encryption_key=encryption)
        [text] = [e["detail"] for e in store.rows("SELECT detail FROM audit_log WHERE action = 'region_trust_refused'")]
    detail = json.loads(text)
    assert (detail["name"], detail["name_chars"]) == ("T" * 63 + "…", 100_000)
    assert detail["refused"] == f"{SAID}; this one has 100000"
    assert len(text) < 1000


@pytest.mark.parametrize(
    ("command", "said"),
    [
        (["setup", "１１００００", "Beijing"], "错误：地区代码 '１１００００' 须为六位数字 0-9，如北京为 110000"),
        (["setup", BEIJING, "  "], "错误：地区须有名称，即 1 至 200 个字符的可打印文字，如“天津”"),
        (
            ["setup", BEIJING, "Bei\tjing"],
            "错误：地区名称须为 1 至 200 个字符的可打印文字，如“天津”；此名称含有控制字符 U+0009",
        ),
        (
            ["trust", TIANJIN, "T" * 201],
            "错误：地区名称须为 1 至 200 个字符的可打印文字，如“天津”；此名称有 201 个字符",
        ),
    ],
)
def test_the_commands_refuse_a_region_in_the_language_asked(tmp_path: Path, command: list[str], said: str) -> None:
    """``--lang zh``: a code or name no bundle can carry is refused in Chinese (the region commands took no --lang
    before 2026-12-06: English whatever was asked), exit 2 as in English."""
    db = tmp_path / "b.duckdb"
    env = {k: v for k, v in os.environ.items() if k != "SOCIALCREDIT_DB"} | {
        "SOCIALCREDIT_DB_KEY": "",
        "COLUMNS": "400",
    }
    subprocess.run([CLI, "init", "--db", str(db)], capture_output=True, env=env, check=True, timeout=120)
    if command[0] == "trust":
        signing, encryption = _keys(tmp_path)
        command = [*command, "--key", signing, "--encryption-key", encryption]
    done = subprocess.run(
        [CLI, "region", *command, "--db", str(db), "--lang", "zh"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stderr.strip().splitlines()[-1]) == (2, said)
