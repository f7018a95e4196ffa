"""`socialcredit region ...` as an operator runs it, the installed command in a subprocess: docs/regions.md's set-up
and bundle commands as they are written; a refused export audited; private key files readable by others refused; an
`--out` that cannot be written keeping nothing; `region keys` with an encryption key that is not base64."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from socialcredit.policy import builtin_policy
from socialcredit.regions import set_region
from socialcredit.regions.bundle import (
    encryption_key_path,
    encryption_public_text,
    fingerprint,
    load_encryption_key,
    load_private_key,
    public_key_text,
)
from socialcredit.regions.keys import trust_key
from socialcredit.registry.scoring.policies import resolve_policy
from socialcredit.store import Store, open_store
from store_copies import copied

CLI = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "regions.md"
DB_KEY = "the store's own key"
EXCHANGE = "\nexchange:\n  shareable_record_types: [court_judgment]\n  lists: [blacklist]\n"


def _env(**more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    env["PATH"] = f"{Path(CLI).parent}{os.pathsep}{env.get('PATH', '')}"
    return env | {"COLUMNS": "300"} | more


def sc(*args: str | Path, db_key: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *map(str, args)],
        capture_output=True,
        text=True,
        env=_env(SOCIALCREDIT_DB_KEY=db_key),
        cwd=cwd,
        timeout=120,
        check=False,
    )


def _audit(store: Store, action: str) -> list[dict[str, Any]]:
    rows = store.execute("SELECT detail FROM audit_log WHERE action = ? ORDER BY seq", [action]).fetchall()
    return [json.loads(d) for (d,) in rows]


def _checkpoints(db: Path) -> bytes:
    path = db.parent / f"{db.name}.checkpoints" / "checkpoints.jsonl"
    return path.read_bytes() if path.exists() else b""


# --- docs/regions.md, run as written -------------------------------------------------------------------------


def _sh_blocks(section: str) -> list[list[str]]:
    """The ```sh blocks of a section of docs/regions.md, each as its command lines (continuations joined, the
    comments after two spaces or more left out)."""
    text = DOCS.read_text(encoding="utf-8")
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    blocks = []
    for block in re.findall(r"```sh\n(.*?)```", body, flags=re.S):
        joined = block.replace("\\\n", " ")
        blocks.append([re.sub(r"\s{2,}#\s.*$", "", line).strip() for line in joined.splitlines() if line.strip()])
    return blocks


def test_the_docs_set_up_publish_export_and_import_as_written(tmp_path: Path) -> None:
    """docs/regions.md showed `region export --policy beijing` for a store whose shipped beijing policy has no
    `exchange:` block, and set up no Beijing at all: the command was refused. Its set-up, the policy it publishes
    and its two bundle commands now run as written, on encrypted stores; the export the docs say is refused before
    the policy is published is refused, with that message, and audited."""
    setting_up, policy = _sh_blocks("Setting up")
    bundles = _sh_blocks("Bundles")[0]
    assert [line.split()[:3] for line in bundles] == [
        ["socialcredit", "region", "export"],
        ["socialcredit", "region", "import"],
    ]
    shipped = tmp_path / "src" / "socialcredit" / "policies" / "beijing.yaml"  # where the checkout has it
    shipped.parent.mkdir(parents=True)
    shipped.write_text(builtin_policy("beijing").text, encoding="utf-8")
    printed: dict[str, list[str]] = {}

    def run(line: str) -> subprocess.CompletedProcess[str]:
        for name, lines in printed.items():  # the public keys each `region keygen` printed
            line = line.replace(f"<{name}'s public key>", lines[2]).replace(f"<{name}'s encryption key>", lines[4])
        assert "<" not in line, line
        return subprocess.run(
            ["bash", "-c", line], capture_output=True, text=True, cwd=tmp_path, env=_env(SOCIALCREDIT_DB_KEY=DB_KEY)
        )

    for line in setting_up:
        done = run(line)
        assert (done.returncode, done.stderr) == (0, ""), line
        if " keygen " in line:
            name = shlex.split(line)[-1].removesuffix(".key").capitalize()
            printed[name] = done.stdout.splitlines()
    assert sorted(printed) == ["Beijing", "Tianjin"]
    refused = run(bundles[0])
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr.strip() == "error: no published policy 'beijing'"
    for line in policy:
        done = run(line)
        assert (done.returncode, done.stderr) == (0, ""), line
    assert done.stdout.startswith(f"Published beijing {builtin_policy('beijing').policy.version}.1 (sha256 ")
    exported = run(bundles[0])
    assert (exported.returncode, exported.stderr) == (0, "")
    assert exported.stdout.splitlines() == [
        "Bundle #1 written to beijing-1.json: 0 records, 0 persons, 0 list entries.",
        "Encrypted for Tianjin (120000).",
    ]
    imported = run(bundles[1])
    assert (imported.returncode, imported.stderr) == (0, "")
    assert imported.stdout.startswith("Imported bundle 110000#1: 0 records about 0 persons;")
    with open_store(tmp_path / "beijing.duckdb", key=DB_KEY, read_only=True) as store:
        assert [(r["policy"], r["file"], r["message"]) for r in _audit(store, "region_export_refused")] == [
            ("beijing", "beijing-1.json", "no published policy 'beijing'")
        ]


# --- refusals ---------------------------------------------------------------------------------------------------


def _beijing(folder: Path) -> None:
    """The store and keys of the beijing fixture, made in ``folder``."""
    keys = {}
    for name in ("beijing", "tianjin"):
        made = sc("region", "keygen", "--out", folder / f"{name}.key")
        assert made.returncode == 0, made.stderr
        keys[name] = folder / f"{name}.key"
    policy = folder / "beijing.yaml"
    policy.write_text(builtin_policy("beijing").text + EXCHANGE, encoding="utf-8")
    with open_store(folder / "beijing.duckdb", create=True, key=DB_KEY) as store:
        set_region(store, "110000", "Beijing")
        resolve_policy(store, str(policy))
        trust_key(store, "120000", "Tianjin", public_key_text(load_private_key(keys["tianjin"])))


@pytest.fixture
def beijing(tmp_path: Path) -> dict[str, Path]:
    """An encrypted Beijing store publishing a policy that shares court judgments and the blacklist, trusting
    Tianjin without its encryption key; both regions' keys made by `region keygen` (made once per process, and
    copied with their modes: see store_copies.copied)."""
    copied(tmp_path, "region-commands-beijing", _beijing)
    keys = {name: tmp_path / f"{name}.key" for name in ("beijing", "tianjin")}
    return {
        "db": tmp_path / "beijing.duckdb",
        "key": keys["beijing"],
        "tianjin_key": keys["tianjin"],
        "folder": tmp_path,
    }


def _enc_public(key: Path) -> str:
    return encryption_public_text(load_encryption_key(encryption_key_path(key)))


def _export(world: dict[str, Path], out: Path | str) -> subprocess.CompletedProcess[str]:
    args = ("region", "export", "--policy", "beijing", "--key", world["key"], "--out", out, "--db", world["db"])
    return sc(*args, db_key=DB_KEY)


def _state(db: Path) -> tuple[Any, ...]:
    with open_store(db, key=DB_KEY, read_only=True) as store:
        exports = store.execute("SELECT sequence FROM region_exports ORDER BY 1").fetchall()
        return exports, _checkpoints(db)


def _export_refusals(db: Path) -> list[dict[str, Any]]:
    with open_store(db, key=DB_KEY, read_only=True) as store:
        return _audit(store, "region_export_refused")


def test_a_refused_export_is_audited_and_keeps_nothing_else(beijing: dict[str, Path]) -> None:
    """An export refused because a region it goes to has no encryption key left no trace in the audit log, unlike
    every other refused command (review): one `region_export_refused` entry with the policy, the file and the
    message; no bundle, no sequence, no checkpoint."""
    db, out = beijing["db"], beijing["folder"] / "beijing-1.json"
    before = _state(db)
    refused = _export(beijing, out)
    assert (refused.returncode, refused.stdout) == (2, "")
    message = refused.stderr.strip().removeprefix("error: ")
    assert message.startswith("not exported: the store is encrypted and Tianjin (120000) has no encryption key here")
    assert not out.exists() and _state(db) == before
    assert _export_refusals(db) == [{"policy": "beijing", "file": "beijing-1.json", "message": message}]
    signing = public_key_text(load_private_key(beijing["tianjin_key"]))
    trust = ("region", "trust", "120000", "Tianjin", "--key", signing)
    fixed = sc(*trust, "--encryption-key", _enc_public(beijing["tianjin_key"]), "--db", db, db_key=DB_KEY)
    assert fixed.returncode == 0, fixed.stderr
    done = _export(beijing, out)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "Bundle #1 written to " + f"{out}: 0 records, 0 persons, 0 list entries."
    assert len(_export_refusals(db)) == 1


def test_keygen_writes_both_keys_0600_and_a_key_file_others_may_read_is_refused(beijing: dict[str, Path]) -> None:
    """A private key file of mode 0644 was taken by `region export` and `region import --key` (review): refused, as
    ssh refuses one, naming the file, its mode and the fix; `region keygen`'s own files are 0600."""
    key, enc = beijing["key"], encryption_key_path(beijing["key"])
    assert [os.stat(p).st_mode & 0o777 for p in (key, enc, beijing["tianjin_key"])] == [0o600, 0o600, 0o600]
    out = beijing["folder"] / "beijing-1.json"
    key.chmod(0o644)
    refused = _export(beijing, out)
    assert (refused.returncode, refused.stdout) == (2, "")
    message = (
        f"{key} has mode 0644: a private key file must be readable by its owner only (whoever can read it signs or "
        f"decrypts as this region); run `chmod 600 {key}` and try again"
    )
    assert refused.stderr.strip() == f"error: {message}"
    assert not out.exists()
    assert [r["message"] for r in _export_refusals(beijing["db"])] == [message]
    key.chmod(0o600)
    tianjin_enc = encryption_key_path(beijing["tianjin_key"])
    tianjin_enc.chmod(0o640)
    tianjin = beijing["folder"] / "tianjin.duckdb"
    with open_store(tianjin, create=True, key="") as store:
        set_region(store, "120000", "Tianjin")
    bundle = beijing["folder"] / "any.json"
    bundle.write_text("{}")
    opened = sc("region", "import", bundle, "--key", beijing["tianjin_key"], "--db", tianjin)
    assert (opened.returncode, opened.stdout) == (2, "")
    assert opened.stderr.strip() == (
        f"error: {tianjin_enc} has mode 0640: a private key file must be readable by its owner only (whoever can "
        f"read it signs or decrypts as this region); run `chmod 600 {tianjin_enc}` and try again"
    )
    # keygen beside a signing key made before encryption keys: that key's mode is said, not "no signing key"
    older = beijing["folder"] / "older.key"
    shutil.copy(key, older)
    older.chmod(0o644)
    made = sc("region", "keygen", "--out", older)
    assert (made.returncode, made.stdout) == (2, "")
    assert made.stderr.strip() == (
        f"error: {older} has mode 0644: a private key file must be readable by its owner only (whoever can read it "
        f"signs or decrypts as this region); run `chmod 600 {older}` and try again"
    )
    assert not encryption_key_path(older).exists()
    older.chmod(0o600)
    made = sc("region", "keygen", "--out", older)
    assert made.returncode == 0, made.stderr
    assert os.stat(encryption_key_path(older)).st_mode & 0o777 == 0o600


@pytest.mark.parametrize("where", ["under a file", "a folder"])
def test_an_out_that_cannot_be_written_keeps_no_checkpoint_sequence_or_file(
    beijing: dict[str, Path], where: str
) -> None:
    """When `--out` could not be written, the export failed after its checkpoint line was kept (review): the file is
    made first, so the export is refused naming the path, and nothing of it is kept but its refusal's entry."""
    folder, db = beijing["folder"], beijing["db"]
    signing = public_key_text(load_private_key(beijing["tianjin_key"]))
    with open_store(db, key=DB_KEY) as store:
        trust_key(store, "120000", "Tianjin", signing, encryption_key=_enc_public(beijing["tianjin_key"]))
    (folder / "afile").write_text("a file")
    (folder / "afolder").mkdir()
    out, why = {
        "under a file": (folder / "afile" / "beijing-1.json", f"{folder / 'afile'} is not a folder"),
        "a folder": (folder / "afolder", "it is a folder"),
    }[where]
    before = _state(db)
    refused = _export(beijing, out)
    assert (refused.returncode, refused.stdout) == (2, "")
    message = (
        f"not exported: the bundle cannot be written to {out} ({why}); give --out a file in a folder this user may "
        "write. Nothing was written."
    )
    assert refused.stderr.strip() == f"error: {message}"
    assert _state(db) == before  # no checkpoint line, no sequence
    assert _export_refusals(db) == [{"policy": "beijing", "file": out.name, "message": message}]
    assert sorted(p.name for p in folder.iterdir() if p.name.endswith(".part")) == []
    assert list((folder / "afolder").iterdir()) == []
    done = _export(beijing, folder / "new" / "beijing-1.json")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Bundle #1 written to {folder / 'new' / 'beijing-1.json'}:")
    assert os.stat(folder / "new" / "beijing-1.json").st_mode & 0o777 == 0o600
    assert sorted(p.name for p in (folder / "new").iterdir()) == ["beijing-1.json"]
    assert _checkpoints(db).count(b"\n") == before[1].count(b"\n") + 1


def test_keys_lists_an_encryption_key_that_is_not_base64_as_unreadable(beijing: dict[str, Path]) -> None:
    """`region keys` stopped with "not a bundle: 'key' is not valid base64" on an encryption key recorded before
    `region trust` checked keys (review): the key is listed, its encryption key marked unreadable, with the command
    that records it again."""
    db = beijing["db"]
    signing = public_key_text(load_private_key(beijing["tianjin_key"]))
    with open_store(db, key=DB_KEY) as store:
        store.execute("UPDATE region_keys SET encryption_key = 'not base64!', expires_on = DATE '2199-01-01'")
    listed = sc("region", "keys", "--db", db, db_key=DB_KEY)
    assert (listed.returncode, listed.stderr) == (0, "")
    fp = fingerprint(signing)
    row = next(line for line in listed.stdout.splitlines() if fp in line)
    assert [cell.strip() for cell in row.split("│")[1:-1]][3:] == [
        "valid, expires on 2199-01-01",
        "unreadable (not valid base64)",
    ]
    assert listed.stdout.splitlines()[-1] == (
        f"The encryption key recorded for Tianjin (120000) with key {fp} is unreadable (not valid base64): record it "
        f"again with `socialcredit region trust 120000 Tianjin --key {signing} --expires 2199-01-01 --encryption-key "
        "KEY` (KEY: the encryption key its `region keygen` printed)."
    )
    as_json = sc("region", "keys", "--json", "--db", db, db_key=DB_KEY)
    assert as_json.returncode == 0, as_json.stderr
    [key] = json.loads(as_json.stdout)
    assert (key["fingerprint"], key["encryption_key"], key["encryption_key_unreadable"]) == (
        fp,
        None,
        "not valid base64",
    )
