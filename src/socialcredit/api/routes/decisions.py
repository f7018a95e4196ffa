"""Relying parties ask decisions: one with its reasons, or up to 10 000 at once; each is logged as an inquiry."""

from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from socialcredit.api.bodies import JSONRoute
from socialcredit.api.deps import RelyingParty, ServiceDep, actor, refuse, said_in, speaks
from socialcredit.api.models import BatchDecisions, Decision
from socialcredit.errors import DecisionError, ForbiddenError, IdentifierError, InvalidRequestError
from socialcredit.identifiers import compact_subject_id
from socialcredit.registry.access.parties import Party
from socialcredit.registry.common import check_purpose
from socialcredit.registry.service import Service

__all__ = ["MAX_BATCH", "BatchDecisionRequest", "DecisionRequest", "router"]

MAX_BATCH = 10_000
# compacted as in a subjects file (spaces, a lower-case x, full-width digits): the subject as registered
SubjectId = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(compact_subject_id)]

router = APIRouter(tags=["relying parties"], route_class=JSONRoute)


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject_id: SubjectId
    service: str = Field(min_length=1, max_length=64)
    purpose: str = Field(min_length=1, max_length=200)
    lang: Literal["en", "zh"] = "en"


class BatchDecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service: str = Field(min_length=1, max_length=64)
    purpose: str = Field(min_length=1, max_length=200)
    subject_ids: list[SubjectId] = Field(min_length=1, max_length=MAX_BATCH)
    lang: Literal["en", "zh"] = "en"
    explain: bool = Field(
        True,
        description="false: each item only subject_id, granted and tier (about a thousand times cheaper for a large "
        "batch: explaining costs some 0.1 ms a subject).",
    )


PolicyParam = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="The policy relied on: needed for a service two policies in use define, unless the key is bound "
        "to a policy (and then only that one).",
    ),
]


LangParam = Annotated[
    Literal["en", "zh"] | None,
    Query(
        description="The language of the reasons, as on the other routes; or the body's `lang` (not both, unless "
        "they agree)."
    ),
]


def _language(body: DecisionRequest | BatchDecisionRequest, asked: str | None) -> str:
    """The language of a decision's texts: ``?lang=`` as on every other route, or the body's ``lang`` (default
    en); both given and different is refused (422, naming the field), not one of them silently ignored."""
    if asked is None:
        return body.lang
    if "lang" in body.model_fields_set and body.lang != asked:
        raise InvalidRequestError(
            f"lang: the query asks {asked!r} and the body {body.lang!r}; give the language once (?lang= or the "
            "body's lang)",
            code="invalid_request",
            field="lang",
        )
    return asked


async def _policy(service: Service, party: Party, asked: str | None) -> str | None:
    """The policy a decision relies on: the one the key is bound to, else the one asked (``?policy=``), else none."""
    if party.policy_id is not None and asked is not None and asked != party.policy_id:
        message = f"this key is bound to policy {party.policy_id}; it may not ask decisions under {asked}"
        zh = f"此密钥限于政策 {party.policy_id}，不得按政策 {asked} 询问决定"
        await refuse(service, party, ForbiddenError(message, code="policy_not_bound", zh=zh), "/v1/decisions")
    return party.policy_id or asked


async def _in_scope(service: Service, party: Party, service_id: str, purpose: str) -> str:
    """A relying party asks only for the services registered with its key, and only for its declared purposes; the
    purpose as the registry logs it: trimmed, one line of plain text (400 ``invalid_purpose``), compared so."""
    if service_id not in party.services:
        message = f"this key may ask decisions for {', '.join(party.services)}, not {service_id}"
        zh = f"此密钥只可询问 {'、'.join(party.services)} 的决定，不可询问 {service_id}"
        refusal = ForbiddenError(message, code="service_not_registered", zh=zh)
        await refuse(service, party, refusal, "/v1/decisions")
    try:
        asked = check_purpose(purpose)
    except DecisionError as invalid:  # audited as an undeclared purpose was before it was checked
        await refuse(service, party, invalid, "/v1/decisions")
    if asked not in {declared.strip() for declared in party.purposes}:
        message = f"purpose {asked!r} was not declared for this key (declared: {', '.join(party.purposes)})"
        zh = f"此密钥未申报用途 {asked!r}（已申报：{'、'.join(party.purposes)}）"
        refusal = ForbiddenError(message, code="purpose_not_declared", zh=zh)
        await refuse(service, party, refusal, "/v1/decisions")
    return asked


@router.post("/v1/decisions")
async def decide_one(
    body: DecisionRequest,
    party: RelyingParty,
    service: ServiceDep,
    request: Request,
    response: Response,
    policy: PolicyParam = None,
    lang: LangParam = None,
) -> Decision:
    """A decision with at most four ranked reasons and what would change it; logged as an inquiry.

    Answered from the latest run held in memory; the inquiry is journalled before the answer is sent. A refusal of
    the registry (an unknown or invalid subject, a service, purpose, policy or run that does not decide) is said in
    the language asked, as the decision is, and says it in Content-Language. What is refused before the language
    is known stays in English: a key (401, 403 ``role_not_allowed``), ``lang`` given twice and different, a 429;
    a body the model refuses (422 ``invalid_request``) names the field and what it takes in Chinese under ``lang``
    zh, in the validator's words otherwise.
    """
    said = _language(body, lang)
    speaks(request, said)
    purpose = await _in_scope(service, party, body.service, body.purpose)
    snap = service.snapshot_for(body.service, await _policy(service, party, policy))

    def decide() -> Any:
        return snap.decision(body.subject_id, body.service, purpose, requester=actor(party), lang=said)

    # From memory, microseconds: here. While the explanations load (or after they failed) it reads the store, a few
    # queries behind the snapshot's lock: on a worker thread, so the event loop serves other requests meanwhile.
    decision = decide() if snap.results is not None else await anyio.to_thread.run_sync(decide)
    service.decisions["granted" if decision.granted else "refused"] += 1
    service.decided([body.subject_id], body.service, actor(party))
    out = _public(decision.as_dict())
    if not decision.granted and party.agency is not None:
        applied = await anyio.to_thread.run_sync(
            service.applied_measure, decision.policy_id, decision.lists, body.service, party.agency
        )
        if applied is not None:
            out["joint_punishment"] = applied.as_dict(said)
    said_in(response, said)
    return Decision.model_validate(out)


def _public(out: dict[str, Any]) -> dict[str, Any]:
    """A decision as a relying party sees it: the decision, tier and reasons; never the score, nor the actions (they
    name the subject's records): the subject sees those at GET /v1/subjects/{id}/services/{service}."""
    for private in ("score", "inquiry_id", "actions"):
        out.pop(private, None)
    return out


@router.post("/v1/decisions/batch", response_model=BatchDecisions)
async def decide_batch(
    body: BatchDecisionRequest,
    party: RelyingParty,
    service: ServiceDep,
    request: Request,
    policy: PolicyParam = None,
    lang: LangParam = None,
) -> JSONResponse:
    """Up to 10 000 decisions in one request, from the latest run held in memory; each logged as an inquiry.

    Each item has the fields of a single decision: granted, tier, lists, the refusal and at most four ranked reasons
    in the language asked, the policy, run and watermark. An identity number the run did not score gets
    ``granted: null`` and an error, and is not logged. A batch refused whole is refused as a single decision is, in
    the language asked.
    """
    said = _language(body, lang)
    speaks(request, said)
    purpose = await _in_scope(service, party, body.service, body.purpose)
    snap = service.snapshot_for(body.service, await _policy(service, party, policy))
    keys = body.subject_ids  # compacted by the model (SubjectId): `11010519800501011x` is found as a single one is
    found = snap.rows_of(keys)
    rows = found[found >= 0]
    known = [s for s, r in zip(keys, found.tolist(), strict=True) if r >= 0]

    def decide() -> tuple[Any, list[Any]]:
        granted = snap.decide_rows(rows, known, body.service, purpose, requester=actor(party))
        if not body.explain:
            return granted, []
        return granted, snap.decisions_at(rows, known, body.service, purpose, said, requester=actor(party))

    granted, decisions = await anyio.to_thread.run_sync(decide)
    service.decided(known, body.service, actor(party))
    n_granted = int(granted.sum())
    service.decisions["granted"] += n_granted
    service.decisions["refused"] += len(known) - n_granted
    answers: dict[str, dict[str, Any]] = {d.subject_id: _public(d.as_dict()) for d in decisions}

    def measures() -> None:  # the memorandum's measure, as in a single decision (may read the store once)
        for d in decisions:
            applied = None
            if not d.granted and party.agency is not None:
                applied = service.applied_measure(d.policy_id, d.lists, body.service, party.agency)
            answers[d.subject_id]["joint_punishment"] = applied.as_dict(said) if applied is not None else None

    await anyio.to_thread.run_sync(measures)
    if not body.explain:
        tiers = snap.tier_names[snap.tier_ranks[rows] - 1] if len(rows) else []
        answers = {
            s: {"subject_id": s, "granted": bool(g), "tier": str(t)}
            for s, g, t in zip(known, granted.tolist(), list(tiers), strict=True)
        }
        # The resident's freeze and fraud alert (docs/freeze.md): said only where they apply.
        frozen, verify = snap.guard_flags(known, body.service, actor(party))
        for s, f, v in zip(known, frozen, verify, strict=True):
            if f:
                answers[s]["frozen"] = True
            if v:
                answers[s]["verify_identity"] = True
    unknown = {
        "code": "unknown_subject",
        "message": f"第 {snap.run_id} 次评分没有此主体（证件号码未登记，或在该次评分之后登记）"
        if said == "zh"
        else f"not scored in run {snap.run_id} (unknown identity number, or registered after the run)",
    }

    def refused(sent: str) -> dict[str, Any]:
        """The item of an identifier with no decision: not valid (what is wrong with it, as a single decision
        says), or valid and not scored in the run."""
        why = snap.unscored(sent)
        error = {"code": why.code, "message": why.said_in(said)} if isinstance(why, IdentifierError) else unknown
        return {"subject_id": sent, "granted": None, "tier": None, "error": error}

    # Up to 10 000 answers built here in the model's shape: written out directly, since validating them again
    # against BatchDecisions (which documents them) would cost several times the decisions themselves.
    answer = JSONResponse(
        {
            "run_id": snap.run_id,
            "watermark": snap.watermark,
            "service": body.service,
            "decisions": [answers.get(k) or refused(s) for s, k in zip(body.subject_ids, keys, strict=True)],
        }
    )
    if body.explain or len(found) > len(rows):  # the reasons and the items' errors are in the language asked
        said_in(answer, said)
    return answer
