"""Published joint-punishment memoranda: every version kept, text and hash, like policies (docs/organisations.md).

A memorandum is validated against the latest published version of the policy it names. The shipped memoranda of a
shipped policy are published on first use, as the shipped policies are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from socialcredit.errors import NotFoundError, PolicyError
from socialcredit.policy.load import LoadedPolicy
from socialcredit.policy.memoranda import LoadedMemorandum, Measure, builtin_memoranda_for, parse_memorandum
from socialcredit.policy.model import Policy
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.scoring.policies import alike_version, get_policy, version_key
from socialcredit.store import Store

__all__ = [
    "AppliedMeasure",
    "applied_measure",
    "get_memorandum",
    "memoranda_for",
    "memoranda_words",
    "name_measures",
    "publish_memorandum",
    "publish_shipped_memoranda",
]


def publish_memorandum(store: Store, loaded: LoadedMemorandum, actor: str = "cli") -> bool:
    """Store a memorandum version; True if new. The same id and version with other content is refused."""
    m = loaded.memorandum
    row = store.one("SELECT sha256 FROM memoranda WHERE memorandum_id = ? AND version = ?", [m.id, m.version])
    if row == loaded.sha256:
        return False
    if row is not None:
        raise PolicyError(
            [
                f"{loaded.origin}: memorandum {m.id} version {m.version} was already published with different "
                "content; give the changed memorandum a new version"
            ]
        )
    alike = alike_version(store, "memoranda", m.id, m.version)
    if alike is not None:
        # 2016.02 beside 2016.2: neither would be newer, and a reader takes one for the other (as for policies).
        raise PolicyError(
            [
                f"{loaded.origin}: memorandum {m.id} version {m.version} reads as the published version {alike} "
                "(versions compare part by part, numbers as numbers); give it a version of its own"
            ]
        )
    with store.transaction():
        store.execute(
            "INSERT INTO memoranda VALUES (?, ?, ?, ?, ?, now())",
            [m.id, m.version, m.policy, loaded.sha256, loaded.text],
        )
        append_audit(
            store,
            actor,
            "publish_memorandum",
            None,
            {"memorandum": m.id, "version": m.version, "policy": m.policy, "sha256": loaded.sha256},
        )
    return True


def publish_shipped_memoranda(store: Store, policy_id: str, actor: str = "cli") -> int:
    """Publish the shipped memoranda of the shipped policy ``policy_id`` whose version the store has not (with any
    text, under that version or one that reads alike, such as 2016.02 for 2016.2: the operator's stays, as for
    policies); how many were new."""
    new = 0
    for m in builtin_memoranda_for(policy_id):
        if alike_version(store, "memoranda", m.memorandum.id, m.memorandum.version) is None:
            new += publish_memorandum(store, m, actor)
    return new


def get_memorandum(store: Store, memorandum_id: str, version: str | None = None) -> LoadedMemorandum:
    """A published memorandum: the version named, or the one in force, the newest by version order as for policies
    (:func:`~socialcredit.registry.scoring.policies.version_key`: 2016.10 after 2016.9; of two that compare alike,
    the one published later). An older version published later does not replace it."""
    rows = store.execute(
        "SELECT version, text, policy_id, published_at FROM memoranda WHERE memorandum_id = ?"
        + (" AND version = ?" if version else ""),
        [memorandum_id, version] if version else [memorandum_id],
    ).fetchall()
    row = max(rows, key=lambda r: (version_key(str(r[0])), r[3])) if rows else None
    if row is None:
        what = f"memorandum {memorandum_id!r}" + (f" version {version!r}" if version else "")
        raise NotFoundError(f"no published {what}")
    policy = get_policy(store, str(row[2]))
    return _parsed(str(row[1]), f"{memorandum_id}@{row[0]}", policy)


_PARSED: dict[tuple[str, str, str, int], LoadedMemorandum] = {}


def _parsed(text: str, origin: str, policy: LoadedPolicy) -> LoadedMemorandum:
    # Published versions never change: each is validated once per process against its policy's parsed version (the
    # same instance for as long as the store's catalog is the same: get_policy caches per catalog).
    key = (text, origin, policy.sha256, id(policy.catalog))
    found = _PARSED.get(key)
    if found is None:
        if len(_PARSED) >= 64:
            _PARSED.clear()
        found = _PARSED[key] = parse_memorandum(text, origin, policy)
    return found


def memoranda_for(store: Store, policy_id: str) -> list[LoadedMemorandum]:
    """The latest version of every memorandum published for ``policy_id``, by id."""
    ids = store.execute(
        "SELECT DISTINCT memorandum_id FROM memoranda WHERE policy_id = ? ORDER BY memorandum_id", [policy_id]
    ).fetchall()
    return [get_memorandum(store, str(i)) for (i,) in ids]


@dataclass(frozen=True)
class AppliedMeasure:
    """The memorandum and measure under which an agency refuses a service to a subject on a list."""

    memorandum: LoadedMemorandum
    list_id: str
    measure: Measure

    def as_dict(self, lang: str = "en") -> dict[str, object]:
        m = self.memorandum.memorandum
        text = self.measure.text.zh if lang == "zh" else self.measure.text.en
        said = (
            f"依据{m.document_number}备忘录第{self.measure.number}项措施拒绝：{text}"
            if lang == "zh"
            else f"refused under memorandum {m.document_number}, measure {self.measure.number}: {text}"
        )
        return {
            "memorandum_id": m.id,
            "memorandum_version": m.version,
            "document_number": m.document_number,
            "title": m.title.zh if lang == "zh" else m.title.en,
            "list": self.list_id,
            "measure": self.measure.number,
            "agency": self.measure.agency,
            "text": said,
        }


def applied_measure(
    memoranda: list[LoadedMemorandum], lists: list[str], service: str, agency: str | None
) -> AppliedMeasure | None:
    """The first measure (by memorandum, then list) that ``agency`` applies by refusing ``service`` to a subject on
    ``lists``; None for a party bound to no agency, or when no memorandum names the refusal."""
    if agency is None:
        return None
    for memo in memoranda:
        for list_id in lists:
            measure = memo.measure_for(list_id, service, agency)
            if measure is not None:
                return AppliedMeasure(memo, list_id, measure)
    return None


def name_measures(store: Store, inquiries: list[dict[str, Any]], lists: dict[int, list[str]], lang: str = "en") -> None:
    """Give each refused inquiry asked by a key acting for an agency its memorandum's measure (``joint_punishment``,
    as in the decision: ``lists``, by inquiry id, the lists its decision counted the subject on —
    ``due_process.listings.inquiry_lists``: a blacklist only once the listing was in effect; until 2026-12-06 every
    list of the inquiry's run, so a refusal of someone in their notice period, for another reason, named the
    blacklist's measure). Inquiries keep ``requester`` as ``key:<id>``: call before the requesters are named."""
    refused = [q for q in inquiries if q.get("outcome") == "refused" and str(q.get("requester", "")).startswith("key:")]
    if not refused:
        return
    ids = sorted({str(q["requester"])[4:] for q in refused})
    agencies = {
        f"key:{k}": str(a)
        for k, a in store.execute(
            "SELECT key_id, agency FROM api_keys WHERE agency IS NOT NULL AND list_contains(?, key_id)", [ids]
        ).fetchall()
    }
    runs = sorted({int(q["run_id"]) for q in refused if q.get("run_id") is not None and q["requester"] in agencies})
    if not runs:
        return
    policies = dict(
        store.execute("SELECT run_id, policy_id FROM score_runs WHERE list_contains(?, run_id)", [runs]).fetchall()
    )
    memos: dict[str, list[LoadedMemorandum]] = {}
    for q in refused:
        agency = agencies.get(str(q["requester"]))
        run_id = q.get("run_id")
        if agency is None or run_id is None or int(run_id) not in policies:
            continue
        policy_id = str(policies[int(run_id)])
        if policy_id not in memos:
            memos[policy_id] = memoranda_for(store, policy_id)
        found = lists.get(int(q["inquiry_id"]), []) if q.get("inquiry_id") is not None else []
        applied = applied_measure(memos[policy_id], found, str(q["service"]), agency)
        if applied is not None:
            q["joint_punishment"] = applied.as_dict(lang)


def memoranda_words(memoranda: list[LoadedMemorandum], policy: Policy, lang: str = "en") -> list[dict[str, Any]]:
    """The memoranda of a policy as its public page shows them: names in ``lang``, never ids."""
    out = []
    services = {s.id: s.name.get(lang) for s in policy.services}
    lists = {x.id: x.name.get(lang) for x in policy.lists}
    for loaded in memoranda:
        m = loaded.memorandum
        agencies = {a.id: a.name.get(lang) for a in m.agencies}
        out.append(
            {
                "id": m.id,
                "version": m.version,
                "title": m.title.get(lang),
                "document_number": m.document_number,
                "date": m.date.isoformat(),
                "bodies": ("、" if lang == "zh" else ", ").join(str(b.get(lang)) for b in m.issuing_bodies),
                "citation": m.source.citation,
                "measures": [
                    {
                        "number": x.number,
                        "agency": agencies.get(x.agency, x.agency),
                        "list": lists.get(lm.list, lm.list),
                        "service": services.get(x.service, x.service),
                        "text": x.text.get(lang),
                    }
                    for lm in m.lists
                    for x in lm.measures
                ],
            }
        )
    return out
