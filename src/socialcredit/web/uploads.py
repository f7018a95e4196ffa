"""A multipart form read from memory: its fields and its files, nothing written to disk.

Starlette's form parser spools a file larger than 1 MiB to a temporary file; an evidence file must never be in
clear on disk, so the pages that take files read the body (bounded by the service's limit on requests) and parse it
here with the standard library's MIME parser.
"""

from __future__ import annotations

from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP

__all__ = ["RepeatedField", "is_multipart", "parse_multipart"]


class RepeatedField(ValueError):
    """A form names a field more than once (``name``): which value was meant is not known, so the form is refused.
    ``fields``: its text fields, each as first given (the page checks its CSRF token before refusing it)."""

    def __init__(self, name: str, fields: dict[str, str]) -> None:
        super().__init__(f"the form names the field {name!r} more than once")
        self.name = name
        self.fields = fields


def is_multipart(content_type: str) -> bool:
    """Whether a body of ``content_type`` is a multipart form (with its boundary), the only kind
    :func:`parse_multipart` reads."""
    return content_type.lower().startswith("multipart/form-data") and "boundary=" in content_type


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """The text fields and the files (name → (file name, content)) of a ``multipart/form-data`` body; a body that
    is not one gives nothing (the page then refuses the form for its missing CSRF token). A field or file named
    twice is :class:`RepeatedField` (the first name repeated; the last one was taken).

    >>> body = b"--b\\r\\nContent-Disposition: form-data; name=\\"a\\"\\r\\n\\r\\n1\\r\\n--b--\\r\\n"
    >>> parse_multipart("multipart/form-data; boundary=b", body)
    ({'a': '1'}, {})
    """
    if not is_multipart(content_type):
        return {}, {}
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    try:
        message = BytesParser(policy=HTTP).parsebytes(head + body)
    except Exception:  # a malformed body is a refused form, not a crash
        return {}, {}
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    seen: set[str] = set()  # an empty file part is not kept, but its name is named
    repeated: str | None = None
    if not message.is_multipart():
        return {}, {}
    for part in message.iter_parts():
        assert isinstance(part, Message)
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        if name in seen:
            repeated = repeated or name
            continue
        seen.add(name)
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        file_name = part.get_filename()
        if file_name is not None:
            if content or file_name:
                files[name] = (file_name, content)
        else:
            fields[name] = content.decode("utf-8", "replace")
    if repeated is not None:
        raise RepeatedField(repeated, fields)
    return fields, files
