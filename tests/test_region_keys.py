"""Key management between regions: trust, rotation with an overlap window, expiry, revocation, untrust and trust
again; the store's own code and another region's key refused; every change and every refused command audited with
the key's fingerprint; the importer checks a bundle's key against the keys valid on the import date. A hypothesis
model of key states decides, for any sequence of events and any import date, whether a bundle is accepted."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialcredit.clock import TODAY_ENV
from socialcredit.errors import BundleError, RegionError
from socialcredit.regions import import_bundle, set_region, trust_publisher
from socialcredit.regions.bundle import fingerprint, open_bundle, public_key_text, seal_bundle
from socialcredit.regions.keys import list_keys, revoke_key, trust_key, trusted_keys, untrust_region
from socialcredit.store import Store, open_store
from store_copies import copied

CLI = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"
D = dt.date(2026, 12, 3)
KEYS = [Ed25519PrivateKey.generate() for _ in range(4)]  # the last is never trusted
PUB = [public_key_text(k) for k in KEYS]
FP = [fingerprint(p) for p in PUB]


def _payload(sequence: int) -> dict[str, Any]:
    return {
        "format": "socialcredit-exchange/1",
        "publisher": {"region": "110000", "name": "Beijing"},
        "sequence": sequence,
        "created_at": "2026-12-01T00:00:00",
        "policy": {"id": "beijing", "version": "1"},
        "lists_as_of": None,
        "identities": [],
        "records": [],
        "list_entries": [],
    }


SIGNED = [seal_bundle(_payload(4), k) for k in KEYS]


def _open(store: Store, i: int, day: dt.date) -> str:
    """ "accepted", or the message the bundle signed with key ``i`` is refused with on ``day``."""
    try:
        bundle = open_bundle(SIGNED[i], trusted_keys(store), today=day)
    except BundleError as exc:
        return str(exc)
    assert bundle.label == "110000#4"
    return "accepted"


def _audit(store: Store, action: str) -> list[dict[str, Any]]:
    return [
        json.loads(d)
        for (d,) in store.execute("SELECT detail FROM audit_log WHERE action = ? ORDER BY seq", [action]).fetchall()
    ]


def _new_tianjin(folder: Path) -> Path:
    """A new store ``tianjin.duckdb`` in ``folder``, set up as Tianjin: made once per process and copied (see
    store_copies.copied; a store's creation costs some 0.3 s, its copy a tenth of that)."""

    def made(where: Path) -> None:
        with open_store(where / "tianjin.duckdb", create=True, key="") as store:
            set_region(store, "120000", "Tianjin")

    copied(folder, "region-keys-tianjin", made)
    return folder / "tianjin.duckdb"


@pytest.fixture
def tianjin(tmp_path: Path) -> Iterator[Store]:
    store = open_store(_new_tianjin(tmp_path), key="")
    yield store
    store.close()


def test_trust_refuses_the_stores_own_code_and_a_key_trusted_for_another_region(tianjin: Store) -> None:
    with pytest.raises(RegionError) as exc:
        trust_key(tianjin, "120000", "Tianjin", PUB[0], today=D)
    assert str(exc.value) == (
        "region 120000 is this store's own region (Tianjin); a region does not trust itself: its own bundles are "
        "never imported"
    )
    assert trust_key(tianjin, "110000", "Beijing", PUB[0], today=D).fingerprint == FP[0]
    with pytest.raises(RegionError) as exc:
        trust_key(tianjin, "130000", "Hebei", PUB[0], today=D)
    assert str(exc.value) == (
        f"key {FP[0]} is already trusted for Beijing (110000); each region signs with its own key"
    )
    with pytest.raises(RegionError) as exc:
        trust_key(tianjin, "130000", "Hebei", "bm90IGEga2V5", today=D)
    assert str(exc.value) == "'bm90IGEga2V5' is not an Ed25519 public key in base64 (as `region keygen` prints)"
    with pytest.raises(RegionError) as exc:
        trust_key(tianjin, "130000", "Hebei", PUB[1], expires_on=D, today=D)
    assert str(exc.value) == (
        "--expires 2026-12-03 is not after today (2026-12-03): the key would be refused from the start"
    )
    with pytest.raises(RegionError) as exc:
        trust_key(tianjin, "130000", "Hebei", PUB[1], overlap_days=-1, today=D)
    assert str(exc.value) == "--overlap -1 must be from 0 to 366 days"
    # Only the one trusted key is kept; each refusal is in the audit log with the key it named.
    assert tianjin.execute("SELECT region_code, fingerprint FROM region_keys").fetchall() == [("110000", FP[0])]
    refused = _audit(tianjin, "region_trust_refused")
    assert [(r["code"], r["key"]) for r in refused] == [
        ("120000", FP[0]),
        ("130000", FP[0]),
        ("130000", None),
        ("130000", FP[1]),
        ("130000", FP[1]),
    ]
    assert refused[0]["refused"].startswith("region 120000 is this store's own region")
    assert [(r["code"], r["key"], r["replaces"]) for r in _audit(tianjin, "region_trust")] == [("110000", FP[0], None)]


def test_a_rotation_keeps_the_old_key_for_its_overlap_window_then_refuses_it(tianjin: Store) -> None:
    trust_key(tianjin, "110000", "Beijing", PUB[0], today=D - dt.timedelta(days=30))
    t = trust_key(tianjin, "110000", "Beijing", PUB[1], overlap_days=7, today=D)
    assert (t.fingerprint, t.replaced, t.overlap_ends) == (FP[1], FP[0], dt.date(2026, 12, 10))
    assert _open(tianjin, 0, dt.date(2026, 12, 9)) == "accepted"  # D + overlap - 1
    assert _open(tianjin, 0, dt.date(2026, 12, 10)) == (  # D + overlap
        f"rotated: bundle 110000#4 is signed with Beijing's key {FP[0]}, which was replaced by {FP[1]} on "
        "2026-12-03 and its overlap ended on 2026-12-10"
    )
    assert _open(tianjin, 1, dt.date(2026, 12, 3)) == "accepted"
    assert _open(tianjin, 1, dt.date(2030, 1, 1)) == "accepted"
    # A key never trusted: during the overlap both valid keys are named, after it the new one.
    assert _open(tianjin, 3, dt.date(2026, 12, 9)) == (
        f"wrongly signed: the bundle claims to come from Beijing (110000) but is signed with key {FP[3]}, not one "
        f"of Beijing's keys {FP[0]}, {FP[1]}"
    )
    assert _open(tianjin, 3, dt.date(2026, 12, 10)) == (
        f"wrongly signed: the bundle claims to come from Beijing (110000) but is signed with key {FP[3]}, not "
        f"Beijing's key {FP[1]}"
    )
    assert [r["state"] for r in list_keys(tianjin, today=dt.date(2026, 12, 9))] == [
        f"in overlap until 2026-12-09 (replaced by {FP[1]} on 2026-12-03; refused from 2026-12-10)",
        "valid",
    ]
    assert [r["state"] for r in list_keys(tianjin, today=dt.date(2026, 12, 10))] == [
        f"replaced by {FP[1]} on 2026-12-03, overlap ended on 2026-12-10",
        "valid",
    ]
    assert _audit(tianjin, "region_trust")[-1] == {
        "code": "110000",
        "name": "Beijing",
        "key": FP[1],
        "expires_on": None,
        "replaces": FP[0],
        "overlap_ends": "2026-12-10",
    }


def test_an_expired_key_is_refused_from_its_expiry_date(tianjin: Store) -> None:
    trust_key(tianjin, "110000", "Beijing", PUB[0], expires_on=dt.date(2026, 12, 31), today=D)
    assert _open(tianjin, 0, dt.date(2026, 12, 30)) == "accepted"
    assert _open(tianjin, 0, dt.date(2026, 12, 31)) == (
        f"expired: bundle 110000#4 is signed with Beijing's key {FP[0]}, which expired on 2026-12-31"
    )
    assert [r["state"] for r in list_keys(tianjin, today=D)] == ["valid, expires on 2026-12-31"]
    assert [r["state"] for r in list_keys(tianjin, today=dt.date(2027, 1, 1))] == ["expired on 2026-12-31"]
    # Trusting the same key again sets its life anew (here: no expiry).
    trust_key(tianjin, "110000", "Beijing", PUB[0], today=dt.date(2027, 1, 2))
    assert _open(tianjin, 0, dt.date(2027, 1, 2)) == "accepted"


def test_a_revoked_key_is_refused_whatever_the_date_and_never_trusted_again(tianjin: Store) -> None:
    trust_key(tianjin, "110000", "Beijing", PUB[0], today=D - dt.timedelta(days=5))
    trust_key(tianjin, "110000", "Beijing", PUB[1], today=D - dt.timedelta(days=1))
    revoked = revoke_key(tianjin, "110000", FP[0], "key leaked", today=dt.date(2026, 12, 2))
    assert (revoked.revoked_on, revoked.revoked_reason) == (dt.date(2026, 12, 2), "key leaked")
    message = f"revoked: bundle 110000#4 is signed with Beijing's key {FP[0]}, revoked on 2026-12-02 (key leaked)"
    assert _open(tianjin, 0, dt.date(2026, 12, 2)) == message  # still in its overlap window: refused all the same
    assert _open(tianjin, 0, dt.date(2026, 11, 1)) == message  # a clock set before the revocation changes nothing
    assert _open(tianjin, 1, dt.date(2026, 12, 2)) == "accepted"
    with pytest.raises(RegionError) as exc:
        revoke_key(tianjin, "110000", FP[0], "again", today=D)
    assert str(exc.value) == f"key {FP[0]} of Beijing (110000) was already revoked on 2026-12-02 (key leaked)"
    with pytest.raises(RegionError) as exc:
        revoke_key(tianjin, "110000", FP[3], "unknown", today=D)
    assert str(exc.value) == f"Beijing (110000) has no key {FP[3]}; its keys: {FP[0]}, {FP[1]}"
    with pytest.raises(RegionError) as exc:
        revoke_key(tianjin, "110000", FP[1], "  ", today=D)
    assert str(exc.value) == "say why the key is revoked: --reason TEXT (kept in the audit log)"
    with pytest.raises(RegionError) as exc:
        trust_key(tianjin, "110000", "Beijing", PUB[0], today=D)
    assert str(exc.value) == (
        f"key {FP[0]} of Beijing (110000) was revoked on 2026-12-02 (key leaked); a revoked key is never trusted "
        "again: trust the region's new key"
    )
    # The operator's words are kept with the key, and the entry says where (until 2026-12-05 it copied them: an
    # entry of the chain cannot be purged); a refused command keeps them nowhere, and its entry says how long they were.
    assert _audit(tianjin, "region_key_revoked") == [
        {
            "code": "110000",
            "name": "Beijing",
            "key": FP[0],
            "reason": {"kept_in": "region_keys.revoked_reason", "chars": 10},
        }
    ]
    assert tianjin.one("SELECT revoked_reason FROM region_keys WHERE fingerprint = ?", [FP[0]]) == "key leaked"
    assert [(r["key"], r["refused"][:20], r["reason"]) for r in _audit(tianjin, "region_key_revoked_refused")] == [
        (FP[0], f"key {FP[0]}"[:20], {"kept_in": None, "chars": 5}),
        (FP[3], "Beijing (110000) has", {"kept_in": None, "chars": 7}),
        (FP[1], "say why the key is r", {"kept_in": None, "chars": 2}),
    ]
    assert [r["state"] for r in list_keys(tianjin, today=D)] == ["revoked on 2026-12-02: key leaked", "valid"]


def test_an_untrusted_region_is_refused_until_it_is_trusted_again(tianjin: Store) -> None:
    trust_key(tianjin, "110000", "Beijing", PUB[0], today=D - dt.timedelta(days=5))
    assert untrust_region(tianjin, "110000", "left the exchange", today=D) == [FP[0]]
    assert tianjin.one("SELECT untrusted_reason FROM region_keys WHERE fingerprint = ?", [FP[0]]) == "left the exchange"
    not_trusted = (
        "the publisher '110000' is not trusted by this region (trusted: none yet): Beijing was untrusted on "
        "2026-12-03 (left the exchange); add its public key with `socialcredit region trust` if it should be"
    )
    assert _open(tianjin, 0, D) == not_trusted
    assert _open(tianjin, 1, D) == not_trusted
    with pytest.raises(RegionError) as exc:
        untrust_region(tianjin, "110000", "again", today=D)
    assert str(exc.value) == "region 110000 is not trusted here; nothing to untrust"
    # Trusted again with a new key: that key is accepted, the untrusted one stays refused (no overlap).
    t = trust_key(tianjin, "110000", "Beijing", PUB[1], today=dt.date(2026, 12, 4))
    assert t.replaced is None
    assert _open(tianjin, 1, dt.date(2026, 12, 4)) == "accepted"
    assert _open(tianjin, 0, dt.date(2026, 12, 4)) == (
        f"untrusted: bundle 110000#4 is signed with Beijing's key {FP[0]}, untrusted on 2026-12-03 (left the exchange)"
    )
    # The old key may be trusted again too (it was not revoked).
    trust_key(tianjin, "110000", "Beijing", PUB[0], today=dt.date(2026, 12, 5))
    assert _open(tianjin, 0, dt.date(2026, 12, 5)) == "accepted"
    assert _audit(tianjin, "region_untrust") == [
        {
            "code": "110000",
            "name": "Beijing",
            "keys": [FP[0]],
            "untrust_id": 1,
            "reason": {"kept_in": "region_untrusts.reason", "chars": 17},
        }
    ]
    # The entry's reason is still where it says, after the key it untrusted was trusted again (trusting it again
    # replaced the key's row, and with it the only copy of the reason the entry named), and a second untrust of
    # the same key keeps the first's
    assert untrust_region(tianjin, "110000", "left it again", today=dt.date(2026, 12, 6)) == [FP[1], FP[0]]
    trust_key(tianjin, "110000", "Beijing", PUB[0], today=dt.date(2026, 12, 7))
    for entry, said in zip(_audit(tianjin, "region_untrust"), ("left the exchange", "left it again"), strict=True):
        table, column = entry["reason"]["kept_in"].split(".")
        kept = tianjin.one(f"SELECT {column} FROM {table} WHERE untrust_id = ?", [entry["untrust_id"]])
        assert (kept, len(kept)) == (said, entry["reason"]["chars"])
    assert _audit(tianjin, "region_untrust_refused") == [
        {
            "code": "110000",
            "reason": {"kept_in": None, "chars": 5},
            "refused": "region 110000 is not trusted here; nothing to untrust",
        }
    ]
    # Records already imported keep naming the region.
    assert tianjin.one("SELECT name FROM region_publishers WHERE region_code = '110000'") == "Beijing"


def test_import_checks_the_key_on_the_registrys_clock(
    tianjin: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trust_publisher(tianjin, "110000", "Beijing", PUB[0])
    trust_key(tianjin, "110000", "Beijing", PUB[1], overlap_days=2, today=D)
    path = tmp_path / "beijing-1.json"
    path.write_bytes(seal_bundle(_payload(1), KEYS[0]))
    monkeypatch.setenv(TODAY_ENV, "2026-12-05")
    with pytest.raises(BundleError) as exc:
        import_bundle(tianjin, path)
    assert str(exc.value) == (
        f"rotated: bundle 110000#1 is signed with Beijing's key {FP[0]}, which was replaced by {FP[1]} on "
        "2026-12-03 and its overlap ended on 2026-12-05"
    )
    assert tianjin.one("SELECT count(*) FROM region_imports") == 0
    monkeypatch.setenv(TODAY_ENV, "2026-12-04")
    assert import_bundle(tianjin, path).sequence == 1


def test_migration_15_gives_each_trusted_publisher_its_key_without_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socialcredit.store as store_mod
    from socialcredit.store import MIGRATIONS

    monkeypatch.setattr(store_mod, "MIGRATIONS", [m for m in MIGRATIONS if m[0] <= 14])
    with open_store(tmp_path / "old.duckdb", create=True, key="") as old:
        assert old.schema_version() == 14
        old.execute(
            "INSERT INTO region_publishers VALUES ('110000', 'Beijing', ?, TIMESTAMP '2026-11-20 08:00:00')", [PUB[0]]
        )
    monkeypatch.setattr(store_mod, "MIGRATIONS", MIGRATIONS)
    with open_store(tmp_path / "old.duckdb", key="") as store:
        assert store.rows("SELECT region_code, fingerprint, public_key, trusted_on, expires_on FROM region_keys") == [
            {
                "region_code": "110000",
                "fingerprint": FP[0],
                "public_key": PUB[0],
                "trusted_on": dt.date(2026, 11, 20),
                "expires_on": None,
            }
        ]
        assert _open(store, 0, D) == "accepted"


# --- a model of key states, against the store -----------------------------------------------------------------


@dataclass
class KeyModel:
    trusted: bool = False
    revoked: bool = False
    untrusted: bool = False
    expires: dt.date | None = None
    overlap_ends: dt.date | None = None


@dataclass
class Model:
    keys: dict[int, KeyModel] = field(default_factory=dict)

    def trust(self, i: int, day: dt.date, expires: dt.date | None, overlap: int) -> bool:
        k = self.keys.get(i)
        if (k is not None and k.revoked) or (expires is not None and expires <= day):
            return False
        for j, c in self.keys.items():
            if j != i and c.trusted and not c.revoked and not c.untrusted and c.overlap_ends is None:
                c.overlap_ends = day + dt.timedelta(days=overlap)
        self.keys[i] = KeyModel(trusted=True, expires=expires)
        return True

    def revoke(self, i: int) -> bool:
        k = self.keys.get(i)
        if k is None or k.revoked:
            return False
        k.revoked = True
        return True

    def untrust(self) -> bool:
        if not any(not k.untrusted for k in self.keys.values()):
            return False
        for k in self.keys.values():
            k.untrusted = True
        return True

    def accepts(self, i: int, day: dt.date) -> bool:
        k = self.keys.get(i)
        return (
            k is not None
            and not k.revoked
            and not k.untrusted
            and (k.expires is None or day < k.expires)
            and (k.overlap_ends is None or day < k.overlap_ends)
        )


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = open_store(tmp_path_factory.mktemp("keys") / "model.duckdb", create=True, key="")
    set_region(store, "120000", "Tianjin")
    yield store
    store.close()


EVENT = st.one_of(
    st.tuples(
        st.just("trust"), st.integers(0, 2), st.integers(0, 4), st.none() | st.integers(-1, 15), st.integers(0, 8)
    ),
    st.tuples(st.just("revoke"), st.integers(0, 3), st.integers(0, 4), st.none(), st.just(0)),
    st.tuples(st.just("untrust"), st.just(0), st.integers(0, 4), st.none(), st.just(0)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(EVENT, max_size=8), key=st.integers(0, 3), data=st.data())
def test_property_a_bundle_is_accepted_iff_its_key_is_valid_in_the_model(
    shared: Store, events: list[tuple[str, int, int, int | None, int]], key: int, data: st.DataObject
) -> None:
    shared.execute("DELETE FROM region_keys")
    shared.execute("DELETE FROM region_publishers")
    model = Model()
    day = dt.date(2026, 12, 1)
    for op, i, step, expires, overlap in events:
        day += dt.timedelta(days=step)
        until = None if expires is None else day + dt.timedelta(days=expires)
        try:
            if op == "trust":
                expected = model.trust(i, day, until, overlap)  # the model changes only when it allows the event
                trust_key(shared, "110000", "Beijing", PUB[i], expires_on=until, overlap_days=overlap, today=day)
            elif op == "revoke":
                expected = model.revoke(i)
                revoke_key(shared, "110000", FP[i], "test", today=day)
            else:
                expected = model.untrust()
                untrust_region(shared, "110000", "test", today=day)
            done = True
        except RegionError:
            done = False
        assert done == expected, f"{op} on {day}: the store {'allowed' if done else 'refused'} it"
    # Any day, or a day beside an end the model knows (where an off-by-one would hide).
    ends = [d for k in model.keys.values() for d in (k.expires, k.overlap_ends) if d is not None]
    some_day = st.integers(-3, 40).map(lambda n: dt.date(2026, 12, 1) + dt.timedelta(days=n))
    near_end = st.tuples(st.sampled_from(ends), st.integers(-1, 1)).map(lambda e: e[0] + dt.timedelta(days=e[1]))
    when = data.draw(some_day | near_end if ends else some_day, label="import date")
    answer = _open(shared, key, when)
    assert (answer == "accepted") == model.accepts(key, when), answer


# --- the commands, as a user runs them --------------------------------------------------------------------------


def sc(*args: str | Path, today: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    return subprocess.run(
        [CLI, *map(str, args)],
        capture_output=True,
        text=True,
        env=base | {"COLUMNS": "200", TODAY_ENV: today},
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_the_commands_exit_codes_and_lines(tmp_path: Path) -> None:
    db = _new_tianjin(tmp_path)
    old_key = tmp_path / "beijing-old.key"
    old_key.write_bytes(
        KEYS[0].private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    bundle = tmp_path / "beijing-1.json"
    bundle.write_bytes(seal_bundle(_payload(1), KEYS[0]))

    own = sc("region", "trust", "120000", "Tianjin", "--key", PUB[0], "--db", db, today="2026-12-03")
    assert own.returncode == 2 and "Traceback" not in own.stderr
    assert own.stderr.strip().splitlines()[-1] == (
        "error: region 120000 is this store's own region (Tianjin); a region does not trust itself: its own bundles "
        "are never imported"
    )
    first = sc("region", "trust", "110000", "Beijing", "--key", PUB[0], "--db", db, today="2026-11-01")
    assert (first.returncode, first.stdout) == (0, f"Trusting bundles from Beijing (110000) signed with key {FP[0]}.\n")
    rotate = sc(
        "region",
        "trust",
        "110000",
        "Beijing",
        "--key",
        PUB[1],
        "--expires",
        "2027-12-01",
        "--overlap",
        "3",
        "--db",
        db,
        today="2026-12-03",
    )
    assert (rotate.returncode, rotate.stdout) == (
        0,
        f"Trusting bundles from Beijing (110000) signed with key {FP[1]}, refused from 2027-12-01.\n"
        f"It replaces key {FP[0]}, accepted until 2026-12-05 and refused from 2026-12-06.\n",
    )
    listed = sc("region", "keys", "--json", "--db", db, today="2026-12-04")
    assert listed.returncode == 0
    assert [(r["fingerprint"], r["state"]) for r in json.loads(listed.stdout)] == [
        (FP[0], f"in overlap until 2026-12-05 (replaced by {FP[1]} on 2026-12-03; refused from 2026-12-06)"),
        (FP[1], "valid, expires on 2027-12-01"),
    ]
    late = sc("region", "import", bundle, "--db", db, today="2026-12-06")
    assert late.returncode == 2
    assert late.stderr.strip().splitlines()[-1] == (
        f"error: rotated: bundle 110000#1 is signed with Beijing's key {FP[0]}, which was replaced by {FP[1]} on "
        "2026-12-03 and its overlap ended on 2026-12-06"
    )
    revoke = sc("region", "revoke", "110000", "--key", FP[0], "--reason", "key leaked", "--db", db, today="2026-12-04")
    assert (revoke.returncode, revoke.stdout) == (
        0,
        f"Revoked key {FP[0]} of region 110000 on 2026-12-04 (key leaked); bundles signed with it are refused.\n",
    )
    in_window = sc("region", "import", bundle, "--db", db, today="2026-12-04")
    assert in_window.returncode == 2
    assert in_window.stderr.strip().splitlines()[-1] == (
        f"error: revoked: bundle 110000#1 is signed with Beijing's key {FP[0]}, revoked on 2026-12-04 (key leaked)"
    )
    again = sc("region", "revoke", "110000", "--key", FP[0], "--reason", "twice", "--db", db, today="2026-12-04")
    assert again.returncode == 2
    untrust = sc("region", "untrust", "110000", "--reason", "left the exchange", "--db", db, today="2026-12-04")
    assert (untrust.returncode, untrust.stdout) == (
        0,
        f"Region 110000 is no longer trusted (left the exchange); its bundles are refused (keys {FP[0]}, {FP[1]}).\n",
    )
    table = sc("region", "keys", "--db", db, today="2026-12-04")
    assert table.returncode == 0
    assert "revoked on 2026-12-04: key leaked" in table.stdout
    assert "untrusted on 2026-12-04: left the exchange" in table.stdout
    bad_date = sc(
        "region", "trust", "110000", "Beijing", "--key", PUB[1], "--expires", "soon", "--db", db, today="2026-12-04"
    )
    assert bad_date.returncode == 2
    assert bad_date.stderr.strip().splitlines()[-1] == "error: --expires 'soon' is not a date of the form YYYY-MM-DD"
    with open_store(db, key="") as store:
        actions = [
            a
            for (a,) in store.execute(
                "SELECT action FROM audit_log WHERE action LIKE 'region_%' ORDER BY seq"
            ).fetchall()
        ]
    assert actions == [
        "region_setup",
        "region_trust_refused",
        "region_trust",
        "region_trust",
        "region_import_refused",  # rotated: the old key's overlap had ended
        "region_key_revoked",
        "region_import_refused",  # revoked
        "region_key_revoked_refused",
        "region_untrust",
        "region_trust_refused",
    ]


def test_trusting_the_same_key_again_keeps_its_encryption_key(tianjin: Store) -> None:
    """Trusting a region's key again without --encryption-key (to give it an expiry) wrote no encryption key: the
    next bundle of an encrypted store went out in clear to that region (review). It keeps the one it had."""
    from socialcredit.regions.bundle import encryption_public_text, new_encryption_key
    from socialcredit.regions.keys import encryption_recipients

    enc = encryption_public_text(serialization.load_pem_private_key(new_encryption_key(), password=None))  # type: ignore[arg-type]
    trust_key(tianjin, "110000", "Beijing", PUB[0], encryption_key=enc, today=D)
    trust_key(tianjin, "110000", "Beijing", PUB[0], expires_on=dt.date(2027, 6, 1), today=D)
    assert encryption_recipients(tianjin, today=D) == ({"110000": ("Beijing", enc)}, [])


@pytest.mark.parametrize(
    ("expires", "said"),
    [
        ("9999-12-31", "--expires 9999-12-31 is out of range: the registry's dates run from 1990-01-01 to 2199-12-31"),
        ("2027-02-30", "--expires '2027-02-30' is not a date: February 2027 has 28 days"),
        ("20271231", "--expires '20271231' is not a date of the form YYYY-MM-DD"),
    ],
)
def test_trust_expires_is_read_as_every_date_option_within_the_registrys_dates(
    tmp_path: Path, expires: str, said: str
) -> None:
    """`region trust --expires` had a parser of its own: no range check (9999-12-31 was taken), ISO forms no other
    option takes (20271231), an older message. It reads the date as every command does (clock.day_option), within
    the registry's dates, and the refusal is audited."""
    db = _new_tianjin(tmp_path)
    done = sc(
        "region", "trust", "110000", "Beijing", "--key", PUB[0], "--expires", expires, "--db", db, today="2026-12-04"
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.strip() == f"error: {said}"
    with open_store(db, key="", read_only=True) as store:
        assert store.one("SELECT count(*) FROM region_keys") == 0
        [detail] = [
            json.loads(d)
            for (d,) in store.execute("SELECT detail FROM audit_log WHERE action = 'region_trust_refused'").fetchall()
        ]
    assert (detail["expires_on"], detail["refused"]) == (expires, said)
