"""The whole HTTP API under property-based requests: schemathesis reads the service's own OpenAPI spec and sends what
it generates over loopback, with each role's key, with no key, a malformed key and a revoked key.

Three properties hold for every request: the service never answers 5xx; every 4xx body is
``{"error": {"code": str, "message": str, ...}}``; a caller whose role an operation refuses never gets a 2xx.
Requests come from three sources: schemathesis's fuzzing (valid and invalid data), its coverage cases (boundary and
wrong-type values, unexpected methods), and strategies seeded with values the store knows (subjects, records,
policies, keys) so that requests reach past "not found" into the handlers.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import CheckContext, CheckFunction, not_a_server_error
from schemathesis.core.transport import Response

from api_helpers import auth, world

pytestmark = pytest.mark.slow  # the schemathesis fuzz of the whole API

__all__ = ["world"]  # the module-scoped fixture: this module gets its own store and server

# Who calls. The five roles use throwaway keys issued over HTTP for the run (see `fuzz`), never the world's keys.
ROLES = ("relying_party", "resident", "operator", "auditor", "furnisher")
IDENTITIES = (*ROLES, "no_key", "malformed_key", "revoked_key")
PUBLIC = frozenset(IDENTITIES)

# Every operation of the spec and who may call it. A new operation fails `test_the_fuzz_covers_every_operation`
# until it is classified here, so nothing goes unfuzzed silently.
ACCESS: dict[str, frozenset[str]] = {
    "GET /healthz": PUBLIC,
    "GET /metrics": PUBLIC,
    "GET /v1/policies/{policy_id}/{version}": PUBLIC,
    "POST /v1/decisions": frozenset({"relying_party"}),
    "POST /v1/decisions/batch": frozenset({"relying_party"}),
    "GET /v1/subjects/{subject_id}/report": frozenset({"resident", "operator"}),
    "GET /v1/subjects/{subject_id}/history": frozenset({"resident", "operator"}),
    "POST /v1/records": frozenset({"furnisher"}),
    "PUT /v1/records/{record_id}": frozenset({"furnisher"}),
    "DELETE /v1/records/{record_id}": frozenset({"furnisher"}),
    "POST /v1/jobs": frozenset({"operator"}),
    "GET /v1/jobs/{job_id}": frozenset({"operator"}),
    "GET /v1/runs": frozenset({"operator"}),
    "GET /v1/policies": frozenset({"operator"}),
    "POST /v1/policies": frozenset({"operator"}),
    "GET /v1/lists/{list_id}/entries": frozenset({"operator"}),
    "GET /v1/keys": frozenset({"operator"}),
    "POST /v1/keys": frozenset({"operator"}),
    "DELETE /v1/keys/{key_id}": frozenset({"operator"}),
    "GET /v1/audit/verify": frozenset({"auditor"}),
    "GET /v1/audit": frozenset({"auditor"}),
    "GET /v1/subjects/{subject_id}/services/{service_id}": frozenset({"resident", "operator"}),
    # due process (api/routes/due_process.py)
    "POST /v1/disputes": frozenset({"resident"}),
    "GET /v1/disputes": frozenset({"resident", "furnisher", "operator"}),
    "GET /v1/disputes/{dispute_id}": frozenset({"resident", "furnisher", "operator"}),
    "POST /v1/disputes/{dispute_id}/information": frozenset({"resident"}),
    "POST /v1/disputes/{dispute_id}/answer": frozenset({"furnisher"}),
    "POST /v1/disputes/{dispute_id}/evidence": frozenset({"resident"}),
    "GET /v1/disputes/{dispute_id}/evidence/{evidence_id}": frozenset({"resident", "furnisher", "operator"}),
    "POST /v1/disputes/{dispute_id}/withdraw": frozenset({"resident"}),
    "POST /v1/disputes/{dispute_id}/escalate": frozenset({"operator"}),
    "POST /v1/disputes/{dispute_id}/review": frozenset({"operator"}),
    "POST /v1/link-disputes": frozenset({"resident"}),
    "GET /v1/link-disputes": frozenset({"resident", "operator"}),
    "POST /v1/link-disputes/{dispute_id}/answer": frozenset({"operator"}),
    "POST /v1/fulfilments": frozenset({"furnisher"}),
    "POST /v1/repairs": frozenset({"resident"}),
    "GET /v1/repairs": frozenset({"resident", "operator"}),
    "GET /v1/repairs/{repair_id}": frozenset({"resident", "operator"}),
    "POST /v1/repairs/{repair_id}/decision": frozenset({"operator"}),
    "POST /v1/repairs/{repair_id}/review": frozenset({"operator"}),
    "POST /v1/overrides/decisions": frozenset({"operator"}),
    "POST /v1/overrides/listings": frozenset({"operator"}),
    "GET /v1/consents": frozenset({"resident"}),
    "PUT /v1/consents/{category}": frozenset({"resident"}),
    "GET /v1/subjects/{subject_id}/file": frozenset({"resident", "operator"}),
    "GET /v1/subjects/{subject_id}/file.html": frozenset({"resident", "operator"}),
    "GET /v1/notices": frozenset({"resident", "operator"}),
    "GET /v1/lists/lookup": PUBLIC,
    # the resident's own controls (api/routes/freeze.py)
    "GET /v1/freeze": frozenset({"resident"}),
    "POST /v1/freeze": frozenset({"resident"}),
    "POST /v1/freeze/lift": frozenset({"resident"}),
    "POST /v1/fraud-alert": frozenset({"resident"}),
    "DELETE /v1/fraud-alert": frozenset({"resident"}),
    "GET /v1/subjects/{subject_id}/freeze": frozenset({"operator"}),
    "POST /v1/subjects/{subject_id}/freeze": frozenset({"operator"}),
    "POST /v1/subjects/{subject_id}/freeze/lift": frozenset({"operator"}),
    "POST /v1/subjects/{subject_id}/fraud-alert": frozenset({"operator"}),
    "DELETE /v1/subjects/{subject_id}/fraud-alert": frozenset({"operator"}),
    # an organisation's own file (api/routes/orgs.py): a resident is admitted, then refused unless the legal
    # representative of the organisation
    "GET /v1/orgs": frozenset({"resident", "operator"}),
    "GET /v1/orgs/{org_id}/file": frozenset({"resident", "operator"}),
    "GET /v1/orgs/{org_id}/file.html": frozenset({"resident", "operator"}),
    "POST /v1/orgs/{org_id}/disputes": frozenset({"resident"}),
    "POST /v1/orgs/{org_id}/repairs": frozenset({"resident"}),
    # the catalog (api/routes/catalogs.py): public like the policies' texts; checked and published by operators
    "GET /v1/catalogs": PUBLIC,
    "GET /v1/catalogs/{version}": PUBLIC,
    "POST /v1/catalogs/check": frozenset({"operator"}),
    "POST /v1/catalogs": frozenset({"operator"}),
    # the policy lab (api/routes/lab.py)
    "POST /v1/policies/{policy_id}/{version}/impact": frozenset({"operator"}),
    "GET /v1/policies/{policy_id}/{version}/disparity": frozenset({"operator"}),
    "GET /v1/drift": frozenset({"operator"}),
}

# Hypothesis budgets, bounded so the module runs in about a minute on two shared cores. A caller the operation
# refuses is stopped by the key check before its data is looked at, so few examples cover it; a caller it admits
# gets many more, plus schemathesis's coverage cases and the seeded strategies.
DEEP = 30
SHALLOW = 6
# POST /v1/jobs starts a real score run (about a second each, holding the store's writer). Fuzzed policy ids are
# never a real policy (404 before any run starts), so the fuzz starts no run; `test_a_score_job_at_the_edge_of_the_
# calendar` starts a few real ones, with as-of dates at the edges of what the API accepts.

COURT_FIELDS = {
    "record_type": "court_judgment",
    "event_date": "2026-06-01",
    "case_type": "civil",
    "amount": "12000",
    "status": "unfulfilled",
    "defaulter": "false",
}


@dataclass
class Fuzz:
    """The run's state: the schema, where to send, each identity's headers, values the store knows."""

    schema: Any
    base_url: str
    session: requests.Session
    headers: dict[str, dict[str, str]]
    listed: str
    other: str
    resident_subject: str
    record_ids: list[str]
    victims: list[str]
    revoked: str
    policy_version: str
    world_keys: dict[str, str]
    cases: Counter[tuple[str, str]] = field(default_factory=Counter)
    statuses: dict[tuple[str, str], Counter[int]] = field(default_factory=dict)
    jobs: set[int] = field(default_factory=set)


def _issue(client: Any, operator: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/v1/keys", json=body, headers=operator)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def _raw(_ctx: Any, value: Any) -> bytes:
    """A body the service parses itself (NDJSON, CSV, Parquet) goes out as its bytes; text as UTF-8."""
    if isinstance(value, bytes):
        return value
    data = getattr(value, "data", None)  # a generated `format: binary` value
    if isinstance(data, bytes):
        return data
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return json.dumps(value, default=str).encode()


@pytest.fixture(scope="module")
def fuzz(world: dict[str, Any]) -> Iterator[Fuzz]:
    client = world["client"]
    operator = auth(world["keys"]["operator"])
    # Throwaway keys for the run: DELETE /v1/keys/{key_id} and POST /v1/keys are fuzzed too, and the world's keys
    # must come out of the run untouched (checked at the end of `test_no_request_gets_a_server_error`).
    resident_subject = world["listed"]
    issued = {
        "relying_party": _issue(
            client,
            operator,
            {
                "role": "relying_party",
                "name": "fuzz rail",
                "services": ["high_speed_rail"],
                "purposes": ["ticket purchase"],
            },
        ),
        "resident": _issue(
            client, operator, {"role": "resident", "name": "fuzz resident", "subject": resident_subject}
        ),
        "operator": _issue(client, operator, {"role": "operator", "name": "fuzz operator"}),
        "auditor": _issue(client, operator, {"role": "auditor", "name": "fuzz auditor"}),
        "furnisher": _issue(client, operator, {"role": "furnisher", "name": "fuzz courts", "source": "courts"}),
    }
    revoked = _issue(client, operator, {"role": "auditor", "name": "fuzz revoked"})
    assert client.delete(f"/v1/keys/{revoked['key_id']}", headers=operator).status_code == 200
    # keys the fuzz run may revoke (by their ids, the only ones it can know)
    victims = [_issue(client, operator, {"role": "auditor", "name": f"fuzz victim {i}"})["key_id"] for i in range(3)]
    headers = {who: auth(issued[who]["token"]) for who in ROLES}
    headers["no_key"] = {}
    headers["malformed_key"] = {"Authorization": "Bearer sc_not-a-key"}
    headers["revoked_key"] = auth(revoked["token"])

    with world["service"].writer() as store:
        record_ids = [
            r[0]
            for r in store.execute(
                "SELECT DISTINCT record_id FROM records WHERE source_id = 'courts' ORDER BY record_id LIMIT 5"
            ).fetchall()
        ]
        version = store.one("SELECT version FROM policies WHERE policy_id = 'beijing' LIMIT 1")
    assert record_ids and version

    # Media types schemathesis has no serializer for: the service reads these bodies as raw text or bytes.
    schemathesis.serializer("application/x-ndjson", "text/csv", "application/vnd.apache.parquet")(_raw)
    base_url = f"http://127.0.0.1:{world['port']}"
    # as patient as the run's requests: on a loaded machine the first answer (the spec, built then) took over the
    # loader's default 10 s, and every test of the module failed at its setup
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", timeout=60)
    with requests.Session() as session:
        # loopback only: no proxy settings or ~/.netrc read from the environment for each of the run's requests
        session.trust_env = False
        yield Fuzz(
            schema=schema,
            base_url=base_url,
            session=session,
            headers=headers,
            listed=world["listed"],
            other=world["other"],
            resident_subject=resident_subject,
            record_ids=record_ids,
            victims=victims,
            revoked=revoked["key_id"],
            policy_version=str(version),
            world_keys=dict(world["keys"]),
        )


# --- checks ----------------------------------------------------------------------------------------------------------


def error_body_shape(_ctx: CheckContext, response: Response, _case: Case[Any]) -> bool | None:
    """Every 4xx body is {"error": {"code": str, "message": str, ...}} (optional "field" a string)."""
    if not 400 <= response.status_code < 500:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"a {response.status_code} body is not JSON: {response.content[:300]!r}") from None
    error = body.get("error") if isinstance(body, dict) else None
    assert isinstance(error, dict), f"a {response.status_code} body has no error object: {body!r:.300}"
    assert isinstance(error.get("code"), str), f"error.code is not a string: {body!r:.300}"
    assert isinstance(error.get("message"), str), f"error.message is not a string: {body!r:.300}"
    assert isinstance(error.get("field", ""), str), f"error.field is not a string: {body!r:.300}"
    return None


CHECKS: list[CheckFunction] = [not_a_server_error, error_body_shape]


# --- seeded strategies: values the store knows ------------------------------------------------------------------

_text = st.text(max_size=40)
_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), _text)


def _court_record(fz: Fuzz) -> st.SearchStrategy[dict[str, Any]]:
    """A court record with every field either right or fuzzed, some fields dropped, now and then one extra."""
    values = {
        "record_id": st.one_of(st.sampled_from(fz.record_ids), _text),
        "subject_id": st.one_of(st.sampled_from([fz.listed, fz.other]), _text),
        **{k: st.one_of(st.just(v), _scalar) for k, v in COURT_FIELDS.items()},
        "event_date": st.one_of(
            st.just("2026-06-01"), st.dates().map(str), st.sampled_from(["0000-00-00", "2026-02-30", ""]), _scalar
        ),
        "amount": st.one_of(st.just("12000"), st.sampled_from(WEIRD_NUMBERS), _scalar),
    }
    return st.fixed_dictionaries({}, optional=values).flatmap(
        lambda row: st.dictionaries(_text, _scalar, max_size=1).map(lambda extra: {**row, **extra})
    )


WEIRD_NUMBERS = ["-1", "1e309", "NaN", "inf", "0x10", "１２", "1_000", " 7 ", "9" * 40]


def _good_court_record(fz: Fuzz) -> st.SearchStrategy[dict[str, Any]]:
    """A new, valid court record, or one with a single field fuzzed: batches that commit, or fail on one field."""
    good = st.builds(
        lambda rid, sid: {"record_id": f"FUZZ-{rid:08x}", "subject_id": sid, **COURT_FIELDS},
        st.integers(0, 2**32 - 1),
        st.sampled_from([fz.listed, fz.other]),
    )
    fuzzed = st.tuples(
        good, st.sampled_from([*COURT_FIELDS, "subject_id"]), st.one_of(_scalar, st.sampled_from(WEIRD_NUMBERS))
    )
    return st.one_of(good, fuzzed.map(lambda a: {**a[0], a[1]: a[2]}))


def _csv(rows: list[dict[str, Any]]) -> str:
    cols = sorted({k for r in rows for k in r})
    return "\n".join([",".join(cols), *(",".join(str(r.get(c, "")) for c in cols) for r in rows)]) + "\n"


def _ndjson(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def _parquet(rows: list[dict[str, Any]]) -> bytes:
    cols = sorted({k for r in rows for k in r})
    table = pa.table({c: [None if r.get(c) is None else str(r[c]) for r in rows] for c in cols})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def _policy_texts() -> st.SearchStrategy[str]:
    """The shipped Beijing policy with lines dropped, or one value replaced: the policy parser's error paths."""
    text = (Path(__file__).parents[1] / "src/socialcredit/policies/beijing.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()

    def drop(span: tuple[int, int]) -> str:
        start, n = span
        return "\n".join(lines[:start] + lines[start + n :]) + "\n"

    def replace(args: tuple[int, str]) -> str:
        i, value = args
        head, sep, _ = lines[i].partition(": ")
        return "\n".join([*lines[:i], f"{head}{sep or ': '}{value}", *lines[i + 1 :]]) + "\n"

    version = next(i for i, line in enumerate(lines) if line.startswith("version:"))

    def new_version(n: int) -> str:
        return "\n".join([*lines[:version], f'version: "fuzz.{n}"', *lines[version + 1 :]]) + "\n"

    index = st.integers(0, len(lines) - 1)
    return st.one_of(
        st.integers(0, 1000).map(new_version),
        st.tuples(index, st.integers(1, 20)).map(drop),
        st.tuples(index, st.one_of(_text, st.sampled_from(["[", "{", "-1", "1e999", "null", "~", "'"]))).map(replace),
    )


def _seeded(fz: Fuzz, label: str, op: Any) -> list[st.SearchStrategy[Case[Any]]]:
    """Strategies built from known values, so that requests get past 'not found' into the handlers."""
    pos = GenerationMode.POSITIVE

    def with_body(body: st.SearchStrategy[Any], media_type: str | None = None) -> st.SearchStrategy[Case[Any]]:
        return body.flatmap(lambda b: op.as_strategy(pos, body=b, media_type=media_type))

    def with_path(**params: st.SearchStrategy[Any]) -> st.SearchStrategy[Case[Any]]:
        return st.fixed_dictionaries(params).flatmap(lambda p: op.as_strategy(pos, path_parameters=p))

    subjects = st.one_of(st.sampled_from([fz.listed, fz.other, fz.resident_subject]), _text.filter(bool))
    services = st.one_of(st.sampled_from(["high_speed_rail", "deposit_free_rental"]), _text)
    purposes = st.one_of(st.just("ticket purchase"), _text)
    if label == "POST /v1/decisions":
        body = st.fixed_dictionaries(
            {"subject_id": subjects, "service": st.just("high_speed_rail"), "purpose": st.just("ticket purchase")},
            optional={"lang": st.sampled_from(["en", "zh"])},
        )
        loose = st.fixed_dictionaries({"subject_id": subjects, "service": services, "purpose": purposes})
        return [with_body(body), with_body(loose)]
    if label == "POST /v1/decisions/batch":
        fields: dict[str, st.SearchStrategy[Any]] = {
            "service": st.just("high_speed_rail"),
            "purpose": st.just("ticket purchase"),
            "subject_ids": st.lists(subjects, min_size=1, max_size=20),
        }
        body = st.fixed_dictionaries(fields)
        return [with_body(body)]
    if label in ("GET /v1/subjects/{subject_id}/report", "GET /v1/subjects/{subject_id}/history"):
        return [with_path(subject_id=subjects)]
    if label == "POST /v1/records":
        rows = st.lists(st.one_of(_court_record(fz), _good_court_record(fz)), min_size=1, max_size=5)
        partial = st.fixed_dictionaries({}, optional={"partial": st.booleans()})

        def batch(media: str, encode: Callable[[list[dict[str, Any]]], Any]) -> st.SearchStrategy[Case[Any]]:
            return st.tuples(rows, partial).flatmap(
                lambda a: op.as_strategy(pos, body=encode(a[0]), media_type=media, query=a[1])
            )

        parquet = st.one_of(
            rows.map(_parquet),
            # a Parquet file cut short, or the magic number and then noise
            st.tuples(rows.map(_parquet), st.integers(4, 400)).map(lambda a: a[0][: a[1]]),
            st.binary(max_size=200).map(lambda b: b"PAR1" + b + b"PAR1"),
        )
        return [
            batch("application/json", lambda r: r),
            batch("text/csv", _csv),
            batch("application/x-ndjson", _ndjson),
            parquet.flatmap(lambda b: op.as_strategy(pos, body=b, media_type="application/vnd.apache.parquet")),
        ]
    if label == "PUT /v1/records/{record_id}":
        return [
            st.tuples(st.sampled_from(fz.record_ids), st.one_of(_court_record(fz), _good_court_record(fz))).flatmap(
                lambda a: op.as_strategy(
                    pos, path_parameters={"record_id": a[0]}, body={k: v for k, v in a[1].items() if k != "record_id"}
                )
            )
        ]
    if label == "DELETE /v1/records/{record_id}":
        return [with_path(record_id=st.sampled_from(fz.record_ids))]
    if label == "GET /v1/jobs/{job_id}":
        return [with_path(job_id=st.one_of(st.integers(0, 5), st.integers()))]
    if label == "GET /v1/policies/{policy_id}/{version}":
        return [with_path(policy_id=st.sampled_from(["beijing", "sesame"]), version=st.just(fz.policy_version))]
    if label == "POST /v1/policies":
        # bytes go out as they are (a string would be dumped as a quoted YAML scalar)
        raw = st.one_of(_policy_texts().map(str.encode), _text.map(str.encode), st.binary(max_size=100))
        return [with_body(raw, "application/yaml")]
    if label == "GET /v1/lists/{list_id}/entries":
        no_fields: dict[str, st.SearchStrategy[Any]] = {}
        query = st.fixed_dictionaries(
            no_fields,
            optional={
                "policy": st.one_of(st.sampled_from(["beijing", "sesame"]), _text),
                "after": subjects,
                "limit": st.integers(1, 1000),
            },
        )
        return [
            st.tuples(st.sampled_from(["blacklist", "redlist"]), query).flatmap(
                lambda a: op.as_strategy(pos, path_parameters={"list_id": a[0]}, query=a[1])
            )
        ]
    if label == "POST /v1/keys":
        required: dict[str, st.SearchStrategy[Any]] = {"role": st.sampled_from(ROLES), "name": _text.filter(str.strip)}
        optional: dict[str, st.SearchStrategy[Any]] = {
            "source": st.one_of(st.sampled_from(["courts", "banks", "no_such_source"]), st.none()),
            "services": st.lists(st.sampled_from(["high_speed_rail", "matchmaking_badge", "nope"]), max_size=3),
            "purposes": st.lists(purposes.filter(bool), max_size=3),
            "subject": st.one_of(subjects, st.none()),
        }
        body = st.fixed_dictionaries(required, optional=optional)
        return [with_body(body)]
    if label == "DELETE /v1/keys/{key_id}":
        # the victims only: revoked once (200), then again (already revoked)
        return [with_path(key_id=st.sampled_from(fz.victims))]
    return []


# --- the run ---------------------------------------------------------------------------------------------------------


def _fuzz_settings(n: int) -> Callable[[Any], Any]:
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,  # the same requests on every run
        database=None,
        suppress_health_check=list(HealthCheck),  # slow and filtered data is expected against a live server
        print_blob=False,
    )


@dataclass
class Outcome:
    failures: list[str] = field(default_factory=list)


def _send(fz: Fuzz, label: str, who: str, case: Case[Any]) -> None:
    response = case.call(base_url=fz.base_url, session=fz.session, headers=fz.headers[who], timeout=60)
    fz.cases[(label, who)] += 1
    fz.statuses.setdefault((label, who), Counter())[response.status_code] += 1
    case.validate_response(response, checks=CHECKS, headers=fz.headers[who])
    allowed = who in ACCESS[label]
    if not allowed:
        assert response.status_code >= 300, (
            f"{who} is not admitted to {label} but got {response.status_code}:\n{case.as_curl_command()}\n"
            f"{response.content[:500]!r}"
        )
    if label == "POST /v1/jobs" and response.status_code == 202:
        fz.jobs.add(int(json.loads(response.content)["job_id"]))


def _run(fz: Fuzz, label: str, who: str, strategy: st.SearchStrategy[Case[Any]], n: int, out: Outcome) -> None:
    @_fuzz_settings(n)
    @given(case=strategy)
    def run(case: Case[Any]) -> None:
        _send(fz, label, who, case)

    try:
        run()
    except Exception as exc:
        out.failures.append(f"--- {label} as {who}:\n{exc}")


def _run_coverage(fz: Fuzz, op: Any, label: str, who: str, out: Outcome) -> None:
    config = fz.schema.config.generation_for(operation=op, phase="coverage")
    for case in fz.schema.iter_coverage_cases(op, generation_modes=list(GenerationMode), generation_config=config):
        try:
            _send(fz, label, who, case)
        except Exception as exc:
            out.failures.append(f"--- {label} as {who} (coverage):\n{exc}")


def _finished_jobs(fz: Fuzz) -> list[str]:
    """Wait for the score runs the fuzz started (they run in the service's threads): none may fail inside."""
    problems = []
    for job_id in sorted(fz.jobs):
        deadline = time.monotonic() + 120
        while True:
            r = fz.session.get(f"{fz.base_url}/v1/jobs/{job_id}", headers=fz.headers["operator"], timeout=60)
            job = r.json()
            if job["status"] in ("finished", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        if job["status"] != "finished" and not (job["status"] == "failed" and "internal error" not in job["error"]):
            problems.append(f"--- score job {job_id} ({job['policy']}, as of {job['as_of']}): {job}")
    fz.jobs.clear()
    return problems


def _operations(fz: Fuzz) -> list[Any]:
    return [result.ok() for result in fz.schema.get_all_operations()]


def test_the_fuzz_covers_every_operation_of_the_spec(fuzz: Fuzz) -> None:
    labels = {op.label for op in _operations(fuzz)}
    assert labels == set(ACCESS), (
        f"operations not classified in ACCESS: {sorted(labels - set(ACCESS))}; "
        f"classified but gone from the spec: {sorted(set(ACCESS) - labels)}"
    )


@pytest.mark.parametrize("who", IDENTITIES)
def test_no_request_gets_a_server_error(fuzz: Fuzz, who: str) -> None:
    out = Outcome()
    started = time.monotonic()
    for op in _operations(fuzz):
        label = op.label
        if label not in ACCESS:
            continue  # reported by test_the_fuzz_covers_every_operation_of_the_spec
        modes = st.one_of(op.as_strategy(GenerationMode.POSITIVE), op.as_strategy(GenerationMode.NEGATIVE))
        # A public operation never looks at the key: it is fuzzed in depth once, without one.
        deep = who in ACCESS[label] and (ACCESS[label] != PUBLIC or who == "no_key")
        if not deep:
            _run(fuzz, label, who, modes, SHALLOW, out)
            continue
        seeded = _seeded(fuzz, label, op)
        _run(fuzz, label, who, st.one_of(modes, *seeded), DEEP, out)
        _run_coverage(fuzz, op, label, who, out)
        statuses = fuzz.statuses.get((label, who), Counter())
        if who in ROLES:
            reached = sum(n for s, n in statuses.items() if s not in (401, 403))
            assert reached, f"{label} as {who}: every request was refused ({dict(statuses)}); is the key right?"
    out.failures += _finished_jobs(fuzz)
    print(f"\n{who}: {time.monotonic() - started:.1f}s")
    for (label, w), n in sorted(fuzz.cases.items()):
        if w == who:
            print(f"  {label}: {n} cases {dict(sorted(fuzz.statuses[(label, w)].items()))}")
    assert not out.failures, "\n\n".join(out.failures)


_header_chars = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")


@settings(max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(
    header=st.one_of(
        # HTTP drops the spaces before a value (and requests refuses to send them)
        st.text(_header_chars, max_size=80).map(str.lstrip),
        st.text(_header_chars, max_size=80).map(lambda t: "Bearer " + t),
        st.tuples(st.text("0123456789abcdefABCDEF_", max_size=14), st.text(_header_chars, max_size=50)).map(
            lambda a: f"Bearer sc_{a[0]}_{a[1]}"
        ),
    )
)
def test_any_authorization_header_without_a_key_is_answered_401(fuzz: Fuzz, header: str) -> None:
    """Whatever the Authorization header holds (latin-1 text, as HTTP carries it), a request without a real key gets
    a 401 with its reason, never a 5xx."""
    r = fuzz.session.get(
        f"{fuzz.base_url}/v1/audit/verify", headers={"Authorization": header.encode("latin-1")}, timeout=60
    )
    assert r.status_code == 401, (header, r.status_code, r.text)
    assert r.json()["error"]["code"] in {"key_missing", "key_malformed", "key_unknown"}, r.text


def test_the_worlds_keys_survive_the_run(world: dict[str, Any], fuzz: Fuzz) -> None:
    """The run revoked only its own victims: every key the world issued still opens its role's operation."""
    probes = {
        "railway": (
            "POST",
            "/v1/decisions/batch",
            {"service": "high_speed_rail", "purpose": "ticket purchase", "subject_ids": [world["listed"]]},
        ),
        "resident": ("GET", f"/v1/subjects/{world['listed']}/report", None),
        "operator": ("GET", "/v1/keys", None),
        "auditor": ("GET", "/v1/audit/verify", None),
        "furnisher": ("DELETE", "/v1/records/no-such-record", None),
    }
    for who, (method, path, body) in probes.items():
        r = world["client"].request(method, path, json=body, headers=auth(world["keys"][who]))
        assert r.status_code not in (401, 403), (who, r.text)
    keys = world["client"].get("/v1/keys", headers=auth(world["keys"]["operator"])).json()["keys"]
    assert {k["key_id"] for k in keys if k["revoked_at"]} <= {*fuzz.victims, fuzz.revoked}


@pytest.mark.parametrize(
    ("policy", "as_of", "incremental"),
    [
        ("beijing", "0001-01-01", False),
        ("sesame", "1989-12-31", False),
        ("sesame", "1990-01-01", True),
        ("beijing", str(dt.date.today() + dt.timedelta(days=365)), False),
        ("sesame", "9999-12-31", True),
    ],
)
def test_a_score_job_at_the_edge_of_the_calendar_is_refused_or_runs_cleanly(
    fuzz: Fuzz, policy: str, as_of: str, incremental: bool
) -> None:
    """A date at the edge of the calendar is refused up front (422 naming as_of), or starts a run that finishes or
    fails with a reason; never with an internal error (a job's 500). 9999-12-31 once got a job that failed inside
    with OverflowError (as_of + a list's grace days)."""
    body: dict[str, Any] = {"policy": policy, "as_of": as_of, "incremental": incremental}
    r = fuzz.session.post(f"{fuzz.base_url}/v1/jobs", json=body, headers=fuzz.headers["operator"], timeout=60)
    if r.status_code == 422:
        assert r.json()["error"]["field"] == "as_of", r.text
        return
    assert r.status_code == 202, r.text
    fuzz.jobs.add(int(r.json()["job_id"]))
    assert _finished_jobs(fuzz) == []
