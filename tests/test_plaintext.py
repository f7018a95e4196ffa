"""Nothing personal in clear on disk when the store has a key.

The service runs as the installed console script (``socialcredit serve``) on 127.0.0.1 over an encrypted store,
takes batches (CSV, JSON, a rejected one, a correction) and answers decisions. Every regular file under the store's
folder is read, byte for byte, for the identity numbers of the residents concerned and the purpose asked (what
``grep -r -a`` does; a link to the memory of the server, which holds a batch while it is ingested, is not followed):
while the server works, after a clean stop, and after ``kill -9`` in the middle of decisions. The server started
again puts every inquiry answered into the store, once. Files are 0600, folders 0700.

The command line: no rejects file by default with a key (``--rejects`` writes one, 0600, with a warning), and the
export names subjects by keyed pseudonyms unless ``--clear-ids``; its results publish back as the store's own run.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from api_helpers import free_port, wait_until_serving
from socialcredit.backends.files import export_catalog
from socialcredit.example import AS_OF, write_example
from socialcredit.generate import AS_OF as GENERATED_AS_OF
from socialcredit.generate import generate
from socialcredit.registry.access.parties import issue_key
from socialcredit.registry.records.ingest import ingest_file
from socialcredit.registry.records.population import load_population
from socialcredit.registry.scoring.files import score_files
from socialcredit.registry.scoring.policies import policy_without_store, resolve_policy
from socialcredit.registry.scoring.runs import score
from socialcredit.store import open_store

CLI = str(Path(sys.executable).parent / "socialcredit")
KEY = "plaintext-test-key-7f3a"
PURPOSE = "ticket purchase"
# Kept beside the store once a run is scored: the audit checkpoints and the key that signs them (no personal data).
SIGNED = {"city.duckdb.signing.key", "city.duckdb.checkpoints/checkpoints.jsonl"}


def _env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in ("SOCIALCREDIT_DB_KEY", "SOCIALCREDIT_DB")}
    return base | {"COLUMNS": "200", "SOCIALCREDIT_DB_KEY": KEY} | extra


# -- the grep ------------------------------------------------------------------------------------------------------
@dataclass
class Scan:
    """What reading every regular file under a folder found."""

    files: int = 0
    names: set[str] = field(default_factory=set)  # the files read, by name
    hits: list[tuple[str, bytes]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # symbolic links (not followed) and where they point
    journal_bytes: int = 0  # the journal's segments, in bytes

    def add(self, other: Scan) -> None:
        self.files += other.files
        self.names |= other.names
        self.hits += other.hits
        self.links += other.links
        self.journal_bytes = max(self.journal_bytes, other.journal_bytes)


def scan(folder: Path, needles: list[bytes]) -> Scan:
    """``grep -r -a`` for each of ``needles`` over every regular file under ``folder``."""
    found = Scan()
    for root, _dirs, names in os.walk(folder):  # os.walk follows no link to a folder
        for name in names:
            path = Path(root) / name
            try:
                if path.is_symlink():
                    found.links.append(f"{path.name} -> {os.readlink(path)}")
                    continue
                data = path.read_bytes()
            except FileNotFoundError:  # removed while we looked (a segment moved into the store)
                continue
            found.files += 1
            found.names.add(str(path.relative_to(folder)))
            if path.parent.name.endswith(".inquiries"):
                found.journal_bytes += len(data)
            found.hits += [(str(path), n) for n in needles if n in data]
    return found


def modes(folder: Path) -> dict[str, str]:
    """The mode of every regular file and folder under ``folder`` (and of the folder), as octal text."""
    out = {}
    for root, dirs, names in os.walk(folder):
        for name in [*dirs, *names]:
            path = Path(root) / name
            if not path.is_symlink():
                out[str(path.relative_to(folder))] = oct(stat.S_IMODE(path.stat().st_mode))
    return out


# -- the service as the console script ---------------------------------------------------------------------------


@contextlib.contextmanager
def _server(db: Path, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], httpx.Client]]:
    port = free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [CLI, "serve", "--port", str(port), "--db", str(db)],
            env=_env(SOCIALCREDIT_TODAY=AS_OF.isoformat()),
            stdout=out,
            stderr=out,
        )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
    try:
        wait_until_serving(client, proc, log, 90)
        yield proc, client
    finally:
        client.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # a clean stop: the journal's last inquiries go into the store
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An encrypted store (in a folder of its own) with the example's records, scored, and keys for two parties."""
    root = tmp_path_factory.mktemp("plaintext")
    files = write_example(root / "example", residents=200)
    db = root / "store" / "city.duckdb"
    store = open_store(db, create=True, key=KEY)
    try:
        ingest_file(store, files.subjects, "civil_affairs", today=AS_OF)
        for source, path in files.sources.items():
            ingest_file(store, path, source, today=AS_OF, reject_path=root / f"{source}.rejects.csv")
        score(store, resolve_policy(store, "beijing"), AS_OF)
        people = [
            str(r[0])
            for r in store.execute(
                "SELECT subject_id FROM current_subjects WHERE kind = 'person' ORDER BY subject_id LIMIT 40"
            ).fetchall()
        ]
        keys = {
            "railway": issue_key(
                store, "relying_party", "China Railway 12306", services=["high_speed_rail"], purposes=[PURPOSE]
            ).token,
            "courts": issue_key(store, "furnisher", "the courts", source="courts").token,
        }
    finally:
        store.close()
    return {"root": root, "db": db, "people": people, "keys": keys}


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _work(client: httpx.Client, keys: dict[str, str], people: list[str], n: int) -> int:
    """Batches (CSV, JSON, one rejected, a correction) about ``people`` and decisions on them; returns the number of
    inquiries answered."""
    courts = _auth(keys["courts"])
    csv = "record_id,subject_id,record_type,event_date,case_type,amount,status,defaulter\n" + "".join(
        f"PT-{n}-{i},{sid},court_judgment,2026-10-0{1 + i % 9},civil,{1000 + i},fulfilled,false\n"
        for i, sid in enumerate(people[:10])
    )
    r = client.post("/v1/records", content=csv.encode(), headers={**courts, "content-type": "text/csv"})
    assert r.status_code == 200, r.text
    rows = [
        {"record_id": f"PJ-{n}-{i}", "subject_id": sid, "record_type": "court_judgment", "event_date": "2026-09-01",
         "case_type": "civil", "amount": 500, "status": "unfulfilled" if i else "unpaid", "defaulter": False}
        for i, sid in enumerate(people[10:20])
    ]  # fmt: skip
    r = client.post("/v1/records", json=rows, headers=courts)  # one bad status: the batch is refused
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "status"), r.text
    fixed = {**rows[1], "record_id": f"PT-{n}-1", "subject_id": people[1], "status": "fulfilled", "amount": 2001}
    r = client.put(f"/v1/records/PT-{n}-1", json=fixed, headers=courts)
    assert r.status_code == 200, r.text
    railway = _auth(keys["railway"])
    answered = 0
    for sid in people[:10]:
        r = client.post(
            "/v1/decisions", json={"subject_id": sid, "service": "high_speed_rail", "purpose": PURPOSE}, headers=railway
        )
        assert r.status_code == 200, r.text
        answered += 1
    body = {"service": "high_speed_rail", "purpose": PURPOSE, "subject_ids": people}
    r = client.post("/v1/decisions/batch", json=body, headers=railway)
    assert r.status_code == 200, r.text
    return answered + len(r.json()["decisions"])


def _inquiries(db: Path) -> int:
    with open_store(db, key=KEY, read_only=True) as store:
        return int(store.one("SELECT count(*) FROM inquiries"))


@pytest.mark.slow
def test_no_identity_number_in_clear_under_the_store_while_serving_after_a_stop_and_after_kill_9(
    city: dict[str, Any],
) -> None:
    db, folder, people = city["db"], city["db"].parent, city["people"]
    needles = [sid.encode() for sid in people] + [PURPOSE.encode()]
    log = city["root"] / "server.log"
    during = Scan()
    answered = 0
    with _server(db, log) as (_proc, client):
        stop = threading.Event()
        scans: list[Scan] = []

        def watch() -> None:
            # a scan every 20 ms (it spun a core before, slowing the server it watches): the journal's inquiries
            # stay there up to the flusher's 0.2 s, ten scans' time
            while not stop.is_set():
                scans.append(scan(folder, needles))
                stop.wait(0.02)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            for n in range(3):
                answered += _work(client, city["keys"], people, n)
        finally:
            stop.set()
            watcher.join()
        for s in scans:
            during.add(s)
        assert len(scans) > 0
        assert during.hits == []
        assert during.journal_bytes > 20  # the scans saw the journal hold inquiries
        print(f"\nduring the run: {len(scans)} scans, {during.files} files read, {len(during.hits)} hits")
        print(f"  the files: {sorted(during.names)}; links: {sorted(set(during.links))[:3]}")
    after_stop = scan(folder, needles)
    # the store alone (and its write-ahead log, which DuckDB encrypts with it); the journal is empty and gone
    assert (after_stop.names - {"city.duckdb.wal"} - SIGNED, after_stop.hits, after_stop.links) == (
        {"city.duckdb"},
        [],
        [],
    )
    assert _inquiries(db) == answered
    print(f"after a clean stop: {sorted(after_stop.names)} read, {len(after_stop.hits)} hits")
    assert set(modes(folder).values()) <= {"0o600", "0o700"}, modes(folder)

    # kill -9 right after a batch of decisions: inquiries journalled, not yet in the store (the flusher moves them
    # every 0.2 s; a kill that finds them moved already is tried again, at most 5 times)
    for n in range(3, 8):
        with _server(db, log) as (proc, client):
            answered += _work(client, city["keys"], people, n)
            proc.kill()
            proc.wait()
            killed = scan(folder, needles)
            file_modes = modes(folder)
        assert killed.hits == []
        assert set(file_modes.values()) <= {"0o600", "0o700"}, file_modes
        if killed.journal_bytes > 20:  # more than a sealed segment's header
            break
    assert killed.journal_bytes > 20, "no kill left inquiries in the journal"
    print(
        f"after kill -9 ({n - 2} kills): {sorted(killed.names)} read, {len(killed.hits)} hits, journal "
        f"{killed.journal_bytes} bytes; modes {file_modes}"
    )
    # what a batch in memory leaves after a crash: a link to the memory of a process that is gone (and an older
    # version's body in clear): the service removes them when it starts
    uploads = folder / (db.name + ".uploads")
    uploads.mkdir(exist_ok=True)
    os.symlink("/proc/999999999/fd/7", uploads / "left.csv")
    (uploads / "old.csv").write_text(f"record_id,subject_id\nX,{people[0]}\n", "utf-8")
    with _server(db, log) as (_proc, client):
        assert client.get("/healthz").json()["journal_pending"] == 0
        assert list(uploads.iterdir()) == []
    assert _inquiries(db) == answered  # every answered inquiry, once
    final = scan(folder, needles)
    assert (final.names - {"city.duckdb.wal"} - SIGNED, final.hits) == ({"city.duckdb"}, [])
    print(
        f"after the restart: {sorted(final.names)} read, {len(final.hits)} hits; {answered} inquiries, all in the store"
    )


# -- the command line ---------------------------------------------------------------------------------------------
def _cli(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, env=_env(), cwd=cwd, check=False)


def _ok(*args: object) -> subprocess.CompletedProcess[str]:
    proc = _cli(*args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.mark.slow
def test_with_a_key_a_rejects_file_is_written_only_when_asked_for_and_then_0600_with_a_warning(
    tmp_path: Path,
) -> None:
    files = write_example(tmp_path / "example", residents=30)
    db = tmp_path / "store" / "s.duckdb"
    init = _ok("init", "--db", db)
    assert "UNENCRYPTED" not in init.stdout
    subjects = _cli("ingest", files.subjects, "--source", "civil_affairs", "--db", db)
    assert subjects.returncode == 1 and "2 rejected" in subjects.stdout  # the example's two bad rows
    person = next(line.split(",")[0] for line in files.subjects.read_text("utf-8").splitlines()[1:])
    batch = tmp_path / "courts.csv"
    batch.write_text(
        "record_id,subject_id,record_type,event_date,case_type,amount,status,defaulter\n"
        f"C-1,{person},court_judgment,2026-06-01,civil,800,fulfilled,false\n"
        f"C-2,{person},court_judgment,2026-06-01,civil,800,unfulfiled,false\n",
        encoding="utf-8",
    )
    default = _cli("ingest", batch, "--source", "courts", "--db", db)
    assert default.returncode == 1  # rows rejected
    assert f"{batch}: row 2: status: 'unfulfiled' is not allowed; allowed: fulfilled, unfulfilled" in default.stdout
    assert "No reject file: the store is encrypted and one holds the rows in clear; --rejects FILE writes one." in (
        default.stdout
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["courts.csv", "example", "store"]
    asked = tmp_path / "out" / "rejects.csv"
    asked.parent.mkdir()
    batch.write_text(batch.read_text("utf-8").replace("C-1", "C-3").replace("C-2", "C-4"), "utf-8")
    written = _cli("ingest", batch, "--source", "courts", "--rejects", asked, "--db", db)
    assert written.returncode == 1
    assert f"Rejected rows written to {asked}" in written.stdout
    assert (
        f"warning: {asked} holds the rejected rows in clear (identity numbers included), though the store is "
        "encrypted; delete it once they are fixed."
    ) in " ".join(written.stderr.split())
    assert oct(stat.S_IMODE(asked.stat().st_mode)) == "0o600"
    assert person in asked.read_text("utf-8")
    store_files = modes(db.parent)
    assert set(store_files.values()) == {"0o600"}, store_files


def test_with_a_key_the_residents_file_export_warns_that_it_is_in_clear_and_is_0600(tmp_path: Path) -> None:
    """`file export --out/--html` writes the resident's whole file in clear: said, and the owner's only even over a
    file that was there (until 2026-12-05 nothing was said, and a file that was there kept its mode, 0644 here)."""
    files = write_example(tmp_path / "example", residents=30)
    db = tmp_path / "store" / "s.duckdb"
    with open_store(db, create=True, key=KEY) as store:  # as `init` and `ingest` make it
        assert ingest_file(store, files.subjects, "civil_affairs").rejected == 2  # the example's two bad rows
    person = next(line.split(",")[0] for line in files.subjects.read_text("utf-8").splitlines()[1:])
    target, page = tmp_path / "file.json", tmp_path / "file.html"
    target.write_text("{}", "utf-8")
    target.chmod(0o644)
    done = _ok("file", "export", person, "--out", target, "--html", page, "--db", db)
    assert done.stdout.strip() == f"Wrote the file of {person} to {target} and {page}."
    assert " ".join(done.stderr.split()) == (
        f"warning: {page} and {target} hold the resident's file in clear (identity number, records, who asked), "
        "though the store is encrypted; hand it over, then delete it."
    )
    assert json.loads(target.read_text("utf-8"))["subject_id"] == person and person in page.read_text("utf-8")
    assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in (target, page)} == {"0o600"}


@pytest.mark.slow
def test_without_a_key_the_rejects_file_is_written_beside_the_batch_as_before(tmp_path: Path) -> None:
    files = write_example(tmp_path / "example", residents=30)
    db = tmp_path / "s.duckdb"
    env = {k: v for k, v in _env().items() if k != "SOCIALCREDIT_DB_KEY"}

    def run(*args: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, env=env, check=False)

    with open_store(db, create=True, key="") as store:  # as `init` and `ingest` make it
        ingest_file(store, files.subjects, "civil_affairs")
    person = next(line.split(",")[0] for line in files.subjects.read_text("utf-8").splitlines()[1:])
    batch = tmp_path / "courts.csv"
    batch.write_text(
        "record_id,subject_id,record_type,event_date,case_type,amount,status,defaulter\n"
        f"C-2,{person},court_judgment,2026-06-01,civil,800,unfulfiled,false\n",
        encoding="utf-8",
    )
    proc = run("ingest", batch, "--source", "courts", "--db", db)
    assert proc.returncode == 1
    assert f"Rejected rows written to {tmp_path / 'courts.rejects.csv'}" in proc.stdout
    assert "warning" not in proc.stderr
    assert oct(stat.S_IMODE((tmp_path / "courts.rejects.csv").stat().st_mode)) == "0o600"


@pytest.mark.slow
def test_the_export_names_subjects_by_pseudonyms_and_its_results_publish_as_the_stores_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(The store's own run and the export's results are scored in process, as `score` and `score --input` make
    them; the export and the publishing are the console script's.)"""
    generate(300, seed=3, out=tmp_path / "population")
    db = tmp_path / "store" / "s.duckdb"
    today = {"SOCIALCREDIT_TODAY": GENERATED_AS_OF.isoformat()}

    def ok(*args: object) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, env=_env(**today), check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    monkeypatch.setenv("SOCIALCREDIT_TODAY", GENERATED_AS_OF.isoformat())  # the registry's clock, as the commands'
    with open_store(db, create=True, key=KEY) as store:  # as `load` and `score --policy sesame` make it
        load_population(store, tmp_path / "population", today=GENERATED_AS_OF)
        ours = score(store, resolve_policy(store, "sesame"), GENERATED_AS_OF).as_dict()
    export = tmp_path / "export"
    proc = ok("export", "--out", export, "--db", db, "--json")
    manifest = json.loads(proc.stdout)
    assert manifest["ids"] == "pseudonym"
    assert "(it names subjects by keyed pseudonyms). Keep it as safe." in " ".join(proc.stderr.split())
    with open_store(db, key=KEY, read_only=True) as store:
        ids = {str(r[0]) for r in store.execute("SELECT subject_id FROM subject_keys").fetchall()}
        people = {
            str(r[0]) for r in store.execute("SELECT subject_id FROM current_subjects WHERE kind = 'person'").fetchall()
        }
    sids = pq.read_table(export / "subjects.parquet").column("sid").to_pylist()
    assert len(sids) == len(ids) == manifest["subjects"]
    assert all(len(s) == 64 and int(s, 16) >= 0 for s in sids)
    assert not ids & set(sids)
    everything = b"".join(p.read_bytes() for p in export.rglob("*") if p.is_file())
    # no resident's identity number, nor an organisation's code (an employment record names its employer by the
    # employer's pseudonym)
    assert len(people) == 300 and len(ids) > 300
    assert [i for i in ids if i.encode() in everything] == []

    out = tmp_path / "results"
    score_files(export, policy_without_store("sesame", export_catalog(export)), GENERATED_AS_OF, out)
    published = json.loads(ok("publish", out, "--db", db, "--json").stdout)
    with open_store(db, key=KEY, read_only=True) as store:
        for table in ("run_results", "run_list_entries", "run_rule_points", "run_reasons"):
            cols = [str(r[0]) for r in store.execute(f"DESCRIBE {table}").fetchall() if r[0] != "run_id"]
            rows = [
                sorted(store.execute(f"SELECT {', '.join(cols)} FROM {table} WHERE run_id = ?", [run]).fetchall())
                for run in (ours["run_id"], published["run_id"])
            ]
            assert rows[0] and rows[0] == rows[1], table

    clear = json.loads(ok("export", "--out", tmp_path / "clear", "--clear-ids", "--db", db, "--json").stdout)
    assert clear["ids"] == "clear"
    assert set(pq.read_table(tmp_path / "clear" / "subjects.parquet").column("sid").to_pylist()) == ids


def test_publish_refuses_pseudonyms_a_store_without_a_key_cannot_check(tmp_path: Path) -> None:
    from socialcredit.errors import SocialCreditError
    from socialcredit.registry.scoring.export import _expected_sid

    with open_store(tmp_path / "s.duckdb", create=True, key="") as store:
        assert _expected_sid(store, tmp_path, "clear") == ("k.subject_id", {})
        with pytest.raises(SocialCreditError, match="name subjects by pseudonyms this store cannot check"):
            _expected_sid(store, tmp_path, "pseudonym")


@pytest.mark.slow
@pytest.mark.spark
def test_spark_scores_a_pseudonymous_export_and_it_publishes_as_the_stores_run(tmp_path: Path, spark: Any) -> None:
    from socialcredit.policy import builtin_policy
    from socialcredit.registry.records.population import load_population
    from socialcredit.registry.scoring.export import export_inputs, publish_results, score_on_spark
    from socialcredit.registry.scoring.policies import publish_policy

    generate(300, seed=4, out=tmp_path / "population")
    with open_store(tmp_path / "store" / "s.duckdb", create=True, key=KEY) as store:
        load_population(store, tmp_path / "population", today=GENERATED_AS_OF)
        loaded = builtin_policy("sesame")
        publish_policy(store, loaded)
        ours = score(store, loaded, GENERATED_AS_OF).run_id
        assert export_inputs(store, tmp_path / "export")["ids"] == "pseudonym"
        manifest = score_on_spark(tmp_path / "export", loaded, GENERATED_AS_OF, tmp_path / "spark", session=spark)
        assert manifest["input"]["ids"] == "pseudonym"
        results = pq.read_table(tmp_path / "spark" / "results").column("sid").to_pylist()
        assert results and all(len(s) == 64 for s in results)
        theirs = publish_results(store, tmp_path / "spark").run_id
        for table in ("run_results", "run_list_entries", "run_reasons"):
            cols = [str(r[0]) for r in store.execute(f"DESCRIBE {table}").fetchall() if r[0] != "run_id"]
            rows = [
                sorted(store.execute(f"SELECT {', '.join(cols)} FROM {table} WHERE run_id = ?", [run]).fetchall())
                for run in (ours, theirs)
            ]
            assert rows[0] and rows[0] == rows[1], table
