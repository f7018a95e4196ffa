"""Publishing a policy version with the impact report it was published with (docs/policy-lab.md).

``policy publish FILE --impact REPORT.json`` publishes the file (``publish_policy``) and keeps the report beside the
version; the report's candidate hash must be the file's text hash, or nothing is published. Publishing without a
report is refused unless the publisher says so (``--without-impact``: recorded in the audit log).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from socialcredit.errors import ConflictError, InvalidRequestError, NotFoundError
from socialcredit.policy import LoadedPolicy
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.reporting.impact import SCHEMA
from socialcredit.registry.scoring.policies import (
    get_policy,
    newest_version,
    policy_in_force,
    publish_policy,
    version_key,
)
from socialcredit.store import Store

__all__ = ["MAX_REPORT_BYTES", "policy_history", "publish", "read_report", "recorded_impact"]

MAX_REPORT_BYTES = 32 * 1024 * 1024  # a report of every group of a city is a few hundred kilobytes


def read_report(path: Path) -> dict[str, Any]:
    """An impact report written by ``policy impact --format json``; refused if it is not one."""
    if path.stat().st_size > MAX_REPORT_BYTES:
        raise InvalidRequestError(f"{path}: an impact report is at most {MAX_REPORT_BYTES} bytes", field="impact")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRequestError(f"{path} is not an impact report: not JSON ({exc})", field="impact") from None
    except RecursionError:  # (an internal error, exit 3)
        raise InvalidRequestError(
            f"{path} is not an impact report: its JSON nests deeper than the parser follows", field="impact"
        ) from None
    if not isinstance(report, dict) or report.get("schema") != SCHEMA:
        raise InvalidRequestError(
            f"{path} is not an impact report: write one with `socialcredit policy impact … --format json`",
            field="impact",
        )
    candidate, current = report.get("candidate"), report.get("current")
    if not isinstance(candidate, dict) or not isinstance(current, dict) or not isinstance(report.get("as_of"), str):
        raise InvalidRequestError(f"{path} is not an impact report: it names no candidate", field="impact")
    return report


def _refuse_another_policy(store: Store, loaded: LoadedPolicy, current: dict[str, Any], report_name: str) -> None:
    """A version of a policy that has a version in force (published, or shipped) is assessed against that policy: a
    report that set it beside another policy (``policy impact beijing sesame-2026.2.yaml``) says nothing of what the
    version changes, and was recorded as its assessment."""
    p = loaded.policy
    in_force = policy_in_force(store, p.id)
    against = str(current.get("policy", ""))
    if in_force is None or against == p.id:
        return
    raise ConflictError(
        f"{report_name} assessed {p.id} {p.version} against {current.get('origin') or against}, another policy, "
        f"not against {p.id}'s version in force ({in_force.policy.version}): run `socialcredit policy impact {p.id} "
        f"{loaded.origin}` and publish with that report",
        code="impact_mismatch",
    )


def publish(
    store: Store,
    loaded: LoadedPolicy,
    report: dict[str, Any] | None,
    *,
    report_name: str = "the impact report",
    actor: str = "cli",
) -> dict[str, Any]:
    """Publish ``loaded`` with the impact ``report`` it was assessed with (None: published without one; the caller
    decides whether that is allowed). Returns what was done: ``published`` (False: that version was published
    before with the same text), ``impact_recorded``, and ``in_force``: the policy's version in force now (the newest
    by version order, which an older version published later is not)."""
    p = loaded.policy
    if report is not None:
        made_for = str(report["candidate"].get("sha256", ""))
        if made_for != loaded.sha256:
            raise ConflictError(
                f"{report_name} was made for a candidate with sha256 {made_for[:12]}, but {loaded.origin} has sha256 "
                f"{loaded.sha256[:12]}: run `socialcredit policy impact` on this file and publish with that report",
                code="impact_mismatch",
            )
        _refuse_another_policy(store, loaded, report["current"], report_name)
    published = publish_policy(store, loaded, actor)
    recorded = False
    with store.transaction():
        if report is not None and not recorded_exists(store, p.id, p.version):
            text = json.dumps(report, ensure_ascii=False, sort_keys=True)
            store.execute(
                "INSERT INTO policy_impacts VALUES (?, ?, ?, ?, ?, ?, ?, ?, now(), ?)",
                [
                    p.id,
                    p.version,
                    loaded.sha256,
                    str(report["current"].get("policy", "")),
                    str(report["current"].get("version", "")),
                    str(report["as_of"]),
                    hashlib.sha256(text.encode("utf-8")).hexdigest(),
                    text,
                    actor,
                ],
            )
            recorded = True
        append_audit(
            store,
            actor,
            "publish_with_impact" if report is not None else "publish_without_impact",
            None,
            {"policy": p.id, "version": p.version, "sha256": loaded.sha256, "impact_recorded": recorded},
        )
    return {
        "policy": p.id,
        "version": p.version,
        "published": published,
        "impact_recorded": recorded,
        "in_force": newest_version(store, p.id),
    }


def recorded_exists(store: Store, policy_id: str, version: str) -> bool:
    return bool(
        store.one("SELECT count(*) FROM policy_impacts WHERE policy_id = ? AND version = ?", [policy_id, version])
    )


def recorded_impact(store: Store, policy_id: str, version: str) -> dict[str, Any]:
    """The impact report a version was published with; NotFoundError if it was published without one, or was never
    published (as ``get_policy`` says it, naming the versions that were)."""
    text = store.one("SELECT report FROM policy_impacts WHERE policy_id = ? AND version = ?", [policy_id, version])
    if text is None:
        get_policy(store, policy_id, version)  # a version never published is not one "published without a report"
        raise NotFoundError(f"policy {policy_id} version {version} was published without an impact report")
    report: dict[str, Any] = json.loads(str(text))
    return report


def policy_history(store: Store, policy_id: str) -> list[dict[str, Any]]:
    """Every published version of ``policy_id``, oldest first by version order (the last is in force), each with the
    impact report it was published with (summed up: against which version, as of when, how many subjects changed),
    or None."""
    rows = store.rows(
        """SELECT p.version, p.sha256, p.published_at, i.current_policy, i.current_version, i.as_of,
                  i.report_sha256, i.recorded_by, json_extract(i.report, '$.changed') AS changed,
                  json_extract(i.report, '$.subjects') AS subjects
           FROM policies p LEFT JOIN policy_impacts i USING (policy_id, version)
           WHERE p.policy_id = ?""",
        [policy_id],
    )
    if not rows:
        raise NotFoundError(f"no published policy {policy_id!r}")
    rows.sort(key=lambda r: (version_key(str(r["version"])), r["published_at"]))  # the last is in force
    return [
        {
            "version": r["version"],
            "sha256": r["sha256"],
            "published_at": r["published_at"],
            "impact": None
            if r["report_sha256"] is None
            else {
                "against": f"{r['current_policy']}@{r['current_version']}",
                "as_of": r["as_of"],
                "report_sha256": r["report_sha256"],
                "recorded_by": r["recorded_by"],
                "changed": int(r["changed"]) if r["changed"] is not None else None,
                "subjects": int(r["subjects"]) if r["subjects"] is not None else None,
            },
        }
        for r in rows
    ]
