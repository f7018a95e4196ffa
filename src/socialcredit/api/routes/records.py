"""Furnishers send, correct and withdraw the records of their own source.

A batch is all or nothing (422 with every error unless ``?partial=true``); an ``Idempotency-Key`` has a retried batch
answered with the first answer. A correction is the whole corrected record; a withdrawal is a new version that no
longer counts.
"""

import datetime as dt
import re
import time
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from socialcredit.api.bodies import JSONRoute, read_body, read_record, write_rows
from socialcredit.api.deps import Furnisher, RefusalsLang, Segment, ServiceDep, Today, actor
from socialcredit.api.models import BatchAnswer
from socialcredit.errors import IngestError, LimitError, SocialCreditError
from socialcredit.identifiers import fold_record_id
from socialcredit.languages import LANGUAGE_TAGS, counted
from socialcredit.registry.access.parties import Party
from socialcredit.registry.records.ingest import BatchOptions, BatchRequest
from socialcredit.registry.records.row_words import said as errors_in
from socialcredit.registry.records.versions import withdraw_record, withdrawal_batch
from socialcredit.registry.service import Service
from socialcredit.settings import Settings

__all__ = ["clear_uploads", "router"]

router = APIRouter(tags=["furnishers"], route_class=JSONRoute)

_BATCH_FORMATS = {
    "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
    "application/x-ndjson": {"schema": {"type": "string"}},
    "text/csv": {"schema": {"type": "string"}},
    "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
}
_REJECTED: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "The batch has errors: nothing was committed; every error with its row and field.",
        "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
    }
}


def _uploads(service: Service) -> Path:
    """Where bodies are named while they are ingested, beside the store (they are held in memory: api/bodies.py)."""
    return service.store.path.with_name(service.store.path.name + ".uploads")


def clear_uploads(service: Service) -> int:
    """At start: remove what an earlier process left in the uploads folder (links to the memory of a process that
    is gone, or bodies an older version wrote in clear; none was answered, so none is lost); returns how many."""
    folder = _uploads(service)
    if not folder.is_dir():
        return 0
    removed = 0
    for leftover in folder.iterdir():
        if leftover.is_symlink() or leftover.is_file():
            leftover.unlink(missing_ok=True)
            removed += 1
    return removed


def _ingest(
    service: Service,
    party: Party,
    path: Path,
    name: str,
    idempotency_key: str | None,
    sha: str,
    partial: bool,
    today: dt.date,
    lang: str = "en",
) -> JSONResponse:
    assert party.source_id is not None
    # The batch is kept with the body's SHA-256, the one a retry with its key is compared with (a JSON body is
    # ingested as the NDJSON it is rewritten to, whose own hash no retry would match).
    options = BatchOptions(
        all_or_nothing=not partial,
        write_rejects=False,
        name=name,
        idempotency_key=idempotency_key,
        limit_rows=True,
        file_sha256=sha or None,
    )
    # committed with the batches that wait for the writer with it (group commit), answered once they are
    outcome = service.ingest(BatchRequest(path, party.source_id, actor(party), today, options, sha))
    if isinstance(outcome.error, IngestError):
        # the message names the batch by its name (never by the server's path of the upload); the caller knows
        # its batch by what it sent
        message = str(outcome.error).removeprefix(f"{name}: ").replace(str(path), "the batch")
        if message.startswith("the file has no column"):  # the leading words only: a quoted name stays as sent
            message = "the batch has no column" + message.removeprefix("the file has no column")
        missing = re.search(r"has no column '([a-z_]+)'", message)
        zh = outcome.error.zh and outcome.error.zh.removeprefix(f"{name}：").replace(str(path), "该批")
        if zh and zh.startswith("文件没有"):
            zh = "该批没有" + zh.removeprefix("文件没有")
        raise SocialCreditError(message, code="malformed_body", field=missing.group(1) if missing else None, zh=zh)

    if isinstance(outcome.error, LimitError) and str(outcome.error).startswith(f"{name}: "):
        # a limit's refusal, as the limits word it (the registry names the file: the caller knows its batch)
        e = outcome.error
        zh = e.zh and e.zh.removeprefix(f"{name}：")
        raise LimitError(str(e).removeprefix(f"{name}: "), code=e.code, limit=e.limit, field=e.field, zh=zh)
    if outcome.error is not None:
        raise outcome.error
    if outcome.replayed is not None:
        errors = errors_in(outcome.replayed.get("errors", []), lang)
        replayed = {**outcome.replayed, "replayed": True, "errors": errors}
        return JSONResponse(replayed, headers={"Idempotent-Replayed": "true", **_language(errors, lang)})
    report = outcome.report
    assert report is not None
    body = report.as_dict()
    body.pop("reject_file", None)
    body["replayed"] = False
    if report.errors and not partial:
        errors = body.pop("errors")
        shown = errors_in(errors[:1000], lang)
        said = (
            f"{report.rows} 行中有 {report.rejected} 行有错误；未提交任何内容（请改正后重新发送该批，或发送 "
            "?partial=true 只提交正确的行）"
            if lang == "zh"
            else f"{report.rejected} of {counted(report.rows, 'row')} {'has' if report.rejected == 1 else 'have'} "
            "errors; nothing was committed (fix them and send the batch again, or send ?partial=true to commit the "
            "good rows)"
        )
        return JSONResponse(
            {
                "error": {
                    "code": "batch_rejected",
                    "message": said,
                    "field": f"row {shown[0]['row']}: {shown[0]['field']}",
                },
                "errors": shown,
                "errors_total": len(errors),
            },
            status_code=422,
            headers={"Content-Language": LANGUAGE_TAGS[lang]},
        )
    errors = errors_in(body["errors"], lang)
    return JSONResponse({**body, "errors": errors}, headers=_language(errors, lang))


def _language(errors: list[dict[str, Any]], lang: str) -> dict[str, str]:
    """The header saying the language of an answer's row errors (``Content-Language``, as the 422 says it), if any."""
    return {"Content-Language": LANGUAGE_TAGS[lang]} if errors else {}


@router.post(
    "/v1/records",
    response_model=BatchAnswer,
    responses=_REJECTED,
    openapi_extra={"requestBody": {"required": True, "content": _BATCH_FORMATS}},
)
async def ingest_batch(
    request: Request,
    party: Furnisher,
    service: ServiceDep,
    today: Today,
    lang: RefusalsLang,
    idempotency_key: Annotated[str | None, Header(max_length=200, pattern=r"^[\x21-\x7e]+$")] = None,
    partial: Annotated[bool, Query(description="Commit the good rows even if some have errors.")] = False,
) -> JSONResponse:
    """Ingest a batch of the caller's source: JSON (a list of records), NDJSON, CSV or Parquet.

    The batch is all or nothing: if any row has an error, nothing is committed and the answer lists every
    error with its row and field (422). Re-sending a record with the same content changes nothing; send the
    same ``Idempotency-Key`` to have a retried batch answered with the first answer. The refusals, and each row's
    error (in the 422, a partial batch's answer and a replay), are in ``lang`` where the registry has their words.
    """
    body = await read_body(request, _uploads(service), request.app.state.max_body)
    try:
        name = f"http:{idempotency_key or body.sha256[:16]}{body.path.suffix}"
        return await anyio.to_thread.run_sync(
            _ingest, service, party, body.path, name, idempotency_key, body.sha256, partial, today, lang
        )
    finally:
        body.close()


# the body of a correction, as the spec shows it (at most SOCIALCREDIT_MAX_BATCH_COLUMNS keys, 64 by default)
_RECORD = {
    "type": "object",
    "additionalProperties": {"anyOf": [{"type": t} for t in ("string", "integer", "number", "boolean", "null")]},
    "maxProperties": Settings.model_fields["max_batch_columns"].default,
    "title": "Record",
}


@router.put(
    "/v1/records/{record_id}",
    response_model=BatchAnswer,
    responses=_REJECTED,
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _RECORD}}}},
)
async def correct_record(
    request: Request,
    record_id: Annotated[str, Field(min_length=1, max_length=64)],
    party: Furnisher,
    service: ServiceDep,
    today: Today,
    lang: RefusalsLang,
) -> JSONResponse:
    """Correct a record the caller's source sent before: the body is the whole corrected record, read as a record
    of a JSON batch is (its numbers as the text sent, each key once, plain values). The refusals are in ``lang``
    where the registry has their words."""
    record = await read_record(request)
    return await anyio.to_thread.run_sync(_correct, service, party, record_id, record, today, lang)


def _correct(
    service: Service, party: Party, record_id: str, record: dict[str, Any], today: dt.date, lang: str
) -> JSONResponse:
    sent = record.get("record_id")  # the body's id names the path's in either width (identifiers.fold_record_id)
    if "record_id" in record and (not isinstance(sent, str) or fold_record_id(sent) != fold_record_id(record_id)):
        raise SocialCreditError(
            "the body's record_id differs from the path's",
            code="record_id_mismatch",
            field="record_id",
            zh="请求体中的 record_id 与路径中的不同",
        )
    row = {**record, "record_id": record_id, "correction": True}
    file = write_rows(_uploads(service), f"correct-{party.key_id}-{time.monotonic_ns()}.ndjson", [row])
    try:  # no Idempotency-Key: the body's hash is never compared (ingest records the file's own)
        return _ingest(service, party, file.path, f"http:correct:{record_id}", None, "", False, today, lang)
    finally:
        file.close()


@router.delete("/v1/records/{record_id}")
def withdraw(
    record_id: Segment, party: Furnisher, service: ServiceDep, today: Today, lang: RefusalsLang
) -> BatchAnswer:
    """Withdraw a record the caller's source sent: a new version that no longer counts (history stays). The refusals
    are in ``lang``."""
    assert party.source_id is not None
    with service.writer() as store:
        key = withdraw_record(
            store, party.source_id, record_id, actor=actor(party), today=today, batch_name=f"http:withdraw:{record_id}"
        )
        answer = withdrawal_batch(store, key)
    service.changed()
    return BatchAnswer.model_validate({**answer, "replayed": False})
