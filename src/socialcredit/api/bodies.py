"""Batch bodies sent over HTTP: JSON, NDJSON, CSV or Parquet, read with a size limit into a file to ingest.

The file is held in memory (registry/private.py ``MemoryFile``; the size limit bounds it): a body is never written
to a folder in clear, and nothing of it outlives the request or a crash.

Every problem is an error of socialcredit.errors that says what is wrong and where: the body too large (413), a
media type we do not take (415), bytes that are not UTF-8 (with the offset), JSON that does not parse (with line and
column), a JSON body that is not a list of objects (with the index), one nested deeper than a batch is, or with more
records or keys than the limits allow (413, naming the limit: registry.records.limits).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from socialcredit.errors import (
    InvalidRequestError,
    LimitError,
    PayloadTooLargeError,
    SocialCreditError,
    UnsupportedMediaError,
)
from socialcredit.registry.private import MemoryFile
from socialcredit.registry.records import limits

__all__ = [
    "FORMATS",
    "MAX_BODY_BYTES",
    "Body",
    "JSONRoute",
    "json_refusal",
    "not_json",
    "read_body",
    "read_record",
    "too_deep",
    "write_rows",
]

MAX_BODY_BYTES = 64 * 1024 * 1024

# media type -> the file suffix the ingest reads it as
FORMATS = {
    "application/json": ".json",
    "application/x-ndjson": ".ndjson",
    "application/ndjson": ".ndjson",
    "application/jsonl": ".ndjson",
    "text/csv": ".csv",
    "application/vnd.apache.parquet": ".parquet",
    "application/x-parquet": ".parquet",
}


@dataclass(frozen=True)
class Body:
    file: MemoryFile
    sha256: str
    n_bytes: int
    media_type: str

    @property
    def path(self) -> Path:
        """Where ``ingest_file`` reads the body, until :meth:`close`."""
        return self.file.path

    def close(self) -> None:
        self.file.close()


async def read_body(request: Request, folder: Path, limit: int = MAX_BODY_BYTES) -> Body:
    """Read the request body (at most ``limit`` bytes) into a file in memory that ``ingest_file`` reads, named under
    ``folder``; close the answer's ``Body`` when done."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    suffix = FORMATS.get(media)
    if suffix is None:
        formats = ", ".join(sorted(FORMATS))
        raise UnsupportedMediaError(
            f"Content-Type {media or '(none)'!r} is not a batch format; send one of: {formats}",
            field="content-type",
            zh=f"Content-Type {media or '(none)'!r} 不是批次的格式；请用以下之一发送：{formats}",
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(
            f"the body is {int(declared)} bytes; the limit is {limit} bytes",
            zh=f"请求体有 {int(declared)} 字节；上限为 {limit} 字节",
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(
                f"the body is over the limit of {limit} bytes", zh=f"请求体超过了 {limit} 字节的上限"
            )
        chunks.append(chunk)
    data = b"".join(chunks)
    if not data:
        raise _malformed("the body is empty: send the batch's records", "empty_body", zh="请求体为空：请发送该批的记录")
    if suffix != ".parquet":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _not_utf8(exc, data) from None
        if text.startswith("\ufeff"):
            data = data[3:]
        _no_nul_ahead(text.removeprefix("\ufeff"))
        if suffix == ".csv":
            _no_wide_header(text.removeprefix("\ufeff"))
    elif not data.startswith(b"PAR1"):
        raise _malformed(
            "the body is not a Parquet file (it does not start with PAR1)",
            zh="请求体不是 Parquet 文件（不以 PAR1 开头）",
        )
    digest = hashlib.sha256(data).hexdigest()
    if suffix == ".json":
        rows = _json_rows(data.decode("utf-8"))
        file = write_rows(folder, f"{digest[:16]}-{id(request)}.ndjson", rows)
    else:
        file = MemoryFile(data, folder, f"{digest[:16]}-{id(request)}{suffix}")
    return Body(file, digest, len(data), media)


def _no_nul_ahead(text: str) -> None:
    """Refuse text (a body decoded as UTF-8, its byte order mark dropped) that starts as UTF-16 or UTF-32 without a
    byte order mark does: ASCII with NULs between (valid UTF-8, so not refused as not UTF-8, and read as a CSV whose
    first column is named 's\x00u\x00…'), as a model's route refuses it. The pattern, not any NUL: of the first four
    characters the first and third are NUL (UTF-16 big-endian, UTF-32 big-endian) or the second and fourth are (little-
    endian); a body shorter than four with a NUL likewise. Other text with a NUL up front (a column named
    '\x00\x01\x02') is refused for what it is by the batch's own checks."""
    head = text[:4]
    if "\x00" in head and (len(head) < 4 or head[0] == head[2] == "\x00" or head[1] == head[3] == "\x00"):
        raise _malformed(
            "the body has a NUL byte among its first four, as UTF-16 and UTF-32 text has; send text in UTF-8",
            "body_not_utf8",
            zh="请求体的前四个字节中有 NUL 字节，UTF-16 和 UTF-32 文本才会如此；请以 UTF-8 发送文本",
        )


# A separator of a CSV's first line beside a NUL: how UTF-16 text without a byte order mark reads as UTF-8 (each
# ASCII character with a NUL after it, little-endian, or before it, big-endian)
_WIDE_SEPARATOR = re.compile("\x00[,\t;\r\n]|[,\t;\r\n]\x00")
# A CSV's first line and the line break that ends it (\n, \r or \r\n)
_FIRST_LINE = re.compile("[^\r\n]*(?:\r\n|\r|\n)?")


def _no_wide_header(text: str) -> None:
    """Refuse a CSV body whose first line has a NUL beside a separator: UTF-16 text without a byte order mark whose
    first characters are CJK (``主体`` is the bytes ``;NSO`` in UTF-16LE, valid UTF-8) escapes the pattern of its
    first four bytes (:func:`_no_nul_ahead`) and was refused as an unknown column.

    Only the first line is looked at (up to its first \\n or \\r, at most 64 KiB of it) with the line break that
    ends it: \\n, \\r or \\r\\n, and the NUL after it where that makes the pair a UTF-16LE line break (the line's
    bytes before the break even in number, as whole UTF-16 code units are), so that ``主体\\n`` in UTF-16LE
    (``;NSO\\n\\x00``) is refused, and ``subject_id,name\\n\\x00x,y`` is not: a NUL in a later line is the batch's to
    refuse. A column named '\\x00\\x01\\x02' first in the line has no NUL beside a separator: it is refused for its
    name by the batch's checks; after another column (``name,\\x00\\x01\\x02``) its NUL follows a separator and the
    body is refused here."""
    window = text[:65_536]
    found = _FIRST_LINE.match(window)
    assert found is not None  # the pattern matches any text, the empty one too
    head = found.group()
    line = head.rstrip("\r\n")
    if head != line and window[len(head) : len(head) + 1] == "\x00" and len(line.encode()) % 2 == 0:
        head += "\x00"
    if _WIDE_SEPARATOR.search(head):
        raise _malformed(
            "the body has a NUL byte beside a separator in its first line, as UTF-16 and UTF-32 text has; send text "
            "in UTF-8",
            "body_not_utf8",
            zh="请求体第一行的分隔符旁有 NUL 字节，UTF-16 和 UTF-32 文本才会如此；请以 UTF-8 发送文本",
        )


def _malformed(
    message: str, code: str = "malformed_body", field: str | None = None, *, zh: str | None = None
) -> SocialCreditError:
    """A body that cannot be read as a batch (400): empty, not UTF-8, not JSON, not Parquet, not a list of objects;
    ``zh`` its words in Chinese, said where the route speaks Chinese (``?lang=zh`` on the records routes)."""
    return SocialCreditError(message, code=code, field=field, zh=zh)


class _Object(dict[str, Any]):
    """A JSON object as parsed, with the first key it names more than once (None if none)."""

    twice: str | None = None


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    if len(obj) < len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                obj.twice = key
                break
            seen.add(key)
    return obj


# The characters of a key named twice that a refusal repeats.
KEY_SHOWN = 64


def _once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object of a request's body, each key named once: JSON parsers differ on which value of a key named
    twice wins (Python's the last), so a body naming one twice is refused rather than read as one the client may
    not have meant (``{"subject_id": "A", "subject_id": "B"}``)."""
    obj = _object(pairs)  # the batch's parse hook: it finds the first key named twice
    if (key := obj.twice) is not None:
        # the key as sent, cut to KEY_SHOWN characters: a hostile body's key may be a MiB long
        cut = len(key) > KEY_SHOWN
        named = repr(key[:KEY_SHOWN]) + (f"… ({len(key)} characters)" if cut else "")
        named_zh = repr(key[:KEY_SHOWN]) + (f"…（共 {len(key)} 个字符）" if cut else "")
        raise InvalidRequestError(
            f"the body names the key {named} more than once (JSON parsers differ on which value wins); "
            "send each key once",
            code="duplicate_key",
            field=key[:KEY_SHOWN],
            zh=f"请求体多次给出键 {named_zh}（各 JSON 解析器取哪个值不一）；每个键请只发送一次",
        )
    return obj


class _OnceRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            # UTF-8, as every body (RFC 8259): Python's parser guessed UTF-16 or UTF-32 from the bytes and took them,
            # where a batch is refused for them (a UnicodeDecodeError, which ``json_refusal`` says)
            text = (await self.body()).decode("utf-8").removeprefix("\ufeff")
            _no_nul_ahead(text)
            self._json = json.loads(text, object_pairs_hook=_once)
        return self._json


class JSONRoute(APIRoute):
    """A route whose JSON body (read into its model by FastAPI) names each key once: one naming a key twice is
    refused, 422 ``duplicate_key`` naming the key (``json_refusal``), as a record of a batch is (``_check_record``).
    The bodies so read are small (the app's limit on a request); a batch is read by ``read_body``."""

    def get_route_handler(self) -> Any:
        handler = super().get_route_handler()

        async def once(request: Request) -> Response:
            answer: Response = await handler(_OnceRequest(request.scope, request.receive))
            return answer

        return once


# What a JSON body is told in both languages (said where the route speaks Chinese, ``?lang=zh``)
_WORDS: dict[str, tuple[str, str]] = {
    "not_json": (
        "the body is not JSON: {msg} at line {line}, column {col}",
        "请求体不是 JSON：第 {line} 行第 {col} 列：{msg}",
    ),
    "other_encoding": (
        "the body is not JSON in UTF-8: it reads as {encoding}",
        "请求体不是 UTF-8 的 JSON：它读作 {encoding}",
    ),
    "records_twice": (
        'the body names "records" more than once; send the batch\'s records once',
        '请求体多次给出 "records"；请只发送一次该批的记录',
    ),
    "not_object": ("records[{i}] is not an object", "records[{i}] 不是对象"),
}


def _words(key: str, code: str = "malformed_body", field: str | None = None, **values: object) -> SocialCreditError:
    en, zh = _WORDS[key]
    return _malformed(en.format(**values), code, field, zh=zh.format(**values))


def not_json(exc: json.JSONDecodeError) -> SocialCreditError:
    """What a body that does not parse as JSON is told, on every route: why, with its line and column."""
    return _words("not_json", field="body", msg=exc.msg, line=exc.lineno, col=exc.colno)


def too_deep(bound: tuple[str, str]) -> LimitError:
    """What a JSON body nested past what the parser follows is told (it gives up a few hundred levels down, at
    once); ``bound`` says how deep such a body is, in English and Chinese."""
    return LimitError(
        f"the body nests deeper than the JSON parser follows; {bound[0]}",
        code="too_deep",
        limit="nesting",
        zh=f"请求体的嵌套深于 JSON 解析器所能读取的；{bound[1]}",
    )


# JSON's escape of half of a surrogate pair (U+D800-U+DFFF): a body without one holds no such half alone
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_MODEL_NESTING = (
    "a request's body nests a few levels (its schema is in /openapi.json)",
    "请求体只嵌套几层（其结构见 /openapi.json）",
)
_BATCH_NESTING = (
    f"a batch nests at most {limits.BATCH_NESTING} levels (a list of records whose fields are plain values)",
    f"一批记录至多嵌套 {limits.BATCH_NESTING} 层（记录的列表，其字段为简单的值）",
)
_DIGITS = re.compile(r"value has (\d+) digits")


def json_refusal(cause: BaseException | None) -> SocialCreditError | None:
    """The refusal of a JSON body a route of a model could not parse (FastAPI answers any such failure with a
    bare 400 "There was an error parsing the body", the parser's error as its cause), or None for another cause: a
    key named twice, a body nested past the parser, an integer of more digits than Python converts, bytes that are
    not UTF-8."""
    if isinstance(cause, SocialCreditError):  # a key named twice (``JSONRoute``)
        return cause
    if isinstance(cause, RecursionError):
        return too_deep(_MODEL_NESTING)
    if isinstance(cause, UnicodeDecodeError):  # the parser guessed the encoding (UTF-16 from a BOM, say)
        data = bytes(cause.object)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            return _not_utf8(exc, data)
        return _words("other_encoding", "body_not_utf8", encoding=cause.encoding)
    if isinstance(cause, ValueError) and (digits := _DIGITS.search(str(cause))) is not None:
        most = sys.get_int_max_str_digits()
        return LimitError(
            f"the body holds an integer of {digits[1]} digits; a number in a request has at most {most} digits "
            f"(a record's at most {len(str(limits.MAX_NUMBER)) - 1} before the point)",
            code="number_too_long",
            limit="digits",
            field="body",
            zh=f"请求体中有一个 {digits[1]} 位的整数；请求中的数字至多 {most} 位（记录中的数字整数部分至多 "
            f"{len(str(limits.MAX_NUMBER)) - 1} 位）",
        )
    return None


def _not_utf8(exc: UnicodeDecodeError, data: bytes) -> SocialCreditError:
    if (wide := limits.wide_encoding(data[:4])) is not None:
        return _malformed(
            f"the body is {wide} text (it starts with {wide}'s byte order mark); send text in UTF-8",
            "body_not_utf8",
            zh=f"请求体是 {wide} 文本（以 {wide} 的字节顺序标记开头）；请以 UTF-8 发送文本",
        )
    at, byte = exc.start, data[exc.start]
    return _malformed(
        f"the body is not UTF-8: byte {at} (0x{byte:02x}) cannot be decoded; send text in UTF-8",
        "body_not_utf8",
        zh=f"请求体不是 UTF-8 文本：字节 {at}（0x{byte:02x}）无法解码；请以 UTF-8 发送文本",
    )


def _parse(text: str, bound: tuple[str, str]) -> Any:
    try:
        # A number is kept as the text sent (it is staged as text, as a CSV's): ``1e309`` is quoted as such, not as
        # ``inf``, and an integer of thousands of digits is refused by the row's checks, not by Python's limit on
        # converting one (a ValueError, once a 500).
        return json.loads(text, object_pairs_hook=_object, parse_int=str, parse_float=str, parse_constant=str)
    except json.JSONDecodeError as exc:
        raise not_json(exc) from None
    except RecursionError:
        raise too_deep(bound) from None


def _json_rows(text: str) -> list[dict[str, Any]]:
    # The deeper ones the parser follows are refused below, naming the record and field.
    doc = _parse(text, _BATCH_NESTING)

    if isinstance(doc, _Object) and set(doc) == {"records"}:
        if doc.twice is not None:
            raise _words("records_twice", field="records")
        doc = doc["records"]
    if not isinstance(doc, list):
        raise _malformed(
            'a JSON batch is a list of records, or {"records": [...]}',
            zh='JSON 批次是记录的列表，或 {"records": [...]}',
        )
    if not doc:
        raise _malformed("the batch has no records", "empty_body", zh="该批没有记录")
    limits.check_rows(len(doc))
    escapes = _SURROGATE_ESCAPE.search(text) is not None
    for i, row in enumerate(doc):
        if not isinstance(row, dict):
            raise _words("not_object", field=f"records[{i}]", i=i)
        _check_record(i + 1, row, escapes)
    return doc


def _check_record(row: int, record: dict[str, Any], escapes: bool = True) -> None:
    """A record of a JSON body: at most as many keys as a batch has columns, each once, plain values, text that is
    text (no half of a surrogate pair alone: ``escapes`` says whether the body has an escape that can write one)."""
    limits.check_keys(row, len(record))
    if escapes and (alone := limits.unpaired_surrogate("row", row, record)) is not None:
        raise _malformed(alone[0], "body_not_utf8", field=f"row {row}", zh=alone[1])
    if isinstance(record, _Object) and record.twice is not None:
        en, zh = limits.duplicate_key_message(row, record.twice)
        raise _malformed(en, field=f"row {row}: {record.twice}", zh=zh)
    for key, value in record.items():
        if isinstance(value, dict | list):
            kind = "object" if isinstance(value, dict) else "array"
            en, zh = limits.nested_field_message(row, key, kind)
            raise _malformed(en, field=f"row {row}: {key}", zh=zh)


async def read_record(request: Request) -> dict[str, Any]:
    """The body of a correction: one record as a JSON object, read and checked as a record of a JSON batch is (its
    numbers kept as the text sent, its keys counted, each once, plain values)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise UnsupportedMediaError(
            f"Content-Type {media or '(none)'!r} is not taken here; send the body as application/json",
            field="content-type",
            zh=f"此处不接受 Content-Type {media or '(none)'!r}；请以 application/json 发送请求体",
        )
    data = await request.body()  # bounded by the app's limit on every body but a batch's
    if not data.strip():
        raise _malformed(
            "the body is empty: send the corrected record", "empty_body", zh="请求体为空：请发送更正后的记录"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8(exc, data) from None
    text = text.removeprefix("\ufeff")
    _no_nul_ahead(text)
    doc = _parse(text, ("a record is one object whose fields are plain values", "一条记录是一个对象，其字段为简单的值"))
    if not isinstance(doc, dict):
        raise _malformed(
            "the body is not a record: send one JSON object",
            field="body",
            zh="请求体不是一条记录：请发送一个 JSON 对象",
        )
    _check_record(1, doc)
    return doc


def write_rows(folder: Path, name: str, rows: list[dict[str, Any]]) -> MemoryFile:
    """Rows as NDJSON (values as text, as a CSV would carry them), in a file in memory named ``folder/name``."""

    def text(v: Any) -> Any:
        if v is None or isinstance(v, str):
            return v
        if isinstance(v, bool):
            return "true" if v else "false"
        return str(v)

    lines = "".join(json.dumps({k: text(v) for k, v in row.items()}, ensure_ascii=False) + "\n" for row in rows)
    return MemoryFile(lines.encode("utf-8"), folder, name)


async def yaml_text(request: Request, *, what: str, limit: int, too_large: str, empty: str) -> str:
    """A request's body that is a YAML text (a catalog, a candidate policy): refused over ``limit`` bytes (413,
    ``too_large`` with {size} filled in), when empty (``empty``) and when not UTF-8, naming ``what``."""
    raw = await request.body()
    if len(raw) > limit:
        raise PayloadTooLargeError(too_large.format(size=len(raw)))
    if not raw.strip():
        raise SocialCreditError(empty, code="empty_body")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SocialCreditError(f"{what} is not UTF-8 (byte {exc.start})", code="body_not_utf8") from None
