"""The notifications outbox: every message sent to a person through a channel, and a pluggable sender.

A message is queued in the store (``outbox``: kind, subject, channel, recipient, title, body, status, attempts) and
then handed to a :class:`Sender` outside the store's lock; the attempt and its outcome are written back. A sender
serves one channel:

* :class:`OutboxSender` (channel ``outbox``, the default): the message is delivered to the outbox itself, which a
  demonstration shows on a local page (``/outbox``, with ``SOCIALCREDIT_OUTBOX_PAGE=1``);
* :class:`SmtpSender` (channel ``email``): sent by SMTP when ``SOCIALCREDIT_SMTP_HOST`` is set, to the resident's
  e-mail address on file (``contacts``); a resident with none gets no message (status ``no_address``).

A new channel (a text message to ``subjects.phone``, an app's push) is a new sender and a contact per channel; the
messages of every kind go through :func:`queue_message` (or :func:`queue_messages`, the same rows for many at
once) and :func:`deliver`, so notices to residents can use it without change. Statuses: ``queued``, ``sent``,
``failed`` (the last error kept; ``deliver`` may try again), ``no_address``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.common import iso, with_values
from socialcredit.settings import Settings
from socialcredit.store import Store

__all__ = [
    "CHANNELS",
    "Message",
    "OutboxSender",
    "Sender",
    "SmtpSender",
    "contact_address",
    "deliver",
    "list_outbox",
    "queue_message",
    "queue_messages",
    "record_attempt",
    "sender_from_settings",
    "set_contact",
]

CHANNELS = ("outbox", "email")


@dataclass(frozen=True)
class Message:
    message_id: int
    channel: str
    recipient: str
    title: str
    body: str


class Sender(Protocol):
    """Delivers messages of one channel; raises ``OSError`` (or ``smtplib.SMTPException``) when it cannot."""

    channel: str

    def send(self, message: Message) -> None: ...


class OutboxSender:
    """The demonstration's sender: the outbox is the mailbox (the message is shown on the local outbox page)."""

    channel = "outbox"

    def send(self, message: Message) -> None:
        return None


class SmtpSender:
    """Sends e-mail through an SMTP server (STARTTLS and a login when configured)."""

    channel = "email"

    def __init__(
        self,
        host: str,
        port: int = 25,
        sender: str = "registry@localhost",
        *,
        user: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.user, self.password, self.starttls, self.timeout = user, password, starttls, timeout

    def send(self, message: Message) -> None:
        # Imported here: smtplib imports ssl (some 50 ms), which a command that sends no mail (`due run` with the
        # outbox) does not need.
        import smtplib
        from email.message import EmailMessage

        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.recipient
        mail["Subject"] = message.title
        mail.set_content(message.body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(mail)


def sender_from_settings(settings: Settings) -> Sender:
    """SMTP when ``SOCIALCREDIT_SMTP_HOST`` is set, else the outbox."""
    if settings.smtp_host:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        return SmtpSender(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_from,
            user=settings.smtp_user,
            password=password,
            starttls=settings.smtp_starttls,
        )
    return OutboxSender()


def set_contact(store: Store, subject_id: str, channel: str, address: str, actor: str) -> None:
    """Where a resident is reached on ``channel`` (the latest address counts). Call inside a transaction."""
    store.execute("INSERT INTO contacts VALUES (?, ?, ?, now(), ?)", [subject_id, channel, address, actor])


def contact_address(store: Store, subject_id: str, channel: str) -> str | None:
    """The resident's address on ``channel``: for the outbox, the resident themself; else the latest on file."""
    if channel == "outbox":
        return f"resident {subject_id}"
    found = store.one(
        "SELECT address FROM contacts WHERE subject_id = ? AND channel = ? ORDER BY recorded_at DESC LIMIT 1",
        [subject_id, channel],
    )
    return None if found is None else str(found)


def queue_message(store: Store, kind: str, subject_id: str, channel: str, title: str, body: str) -> Message | None:
    """Queue a message to a resident on ``channel``; None (kept as ``no_address``) when they have no address there.
    Call inside a transaction."""
    recipient = contact_address(store, subject_id, channel)
    message_id = store.take_ids("message", 1)
    status = "queued" if recipient is not None else "no_address"
    store.execute(
        "INSERT INTO outbox VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, now(), NULL)",
        [message_id, kind, subject_id, channel, recipient or "", title, body, status],
    )
    return None if recipient is None else Message(message_id, channel, recipient, title, body)


def queue_messages(
    store: Store, kind: str, channel: str, title: str, messages: Sequence[tuple[str, str]]
) -> list[Message | None]:
    """``queue_message`` for each (subject, body) of ``messages``, in their order (consecutive ids), in one
    statement: each resident's address on ``channel`` looked up once for all. Call inside a transaction."""
    if not messages:
        return []
    subjects = [m[0] for m in messages]
    if channel == "outbox":
        recipients: list[str | None] = [f"resident {s}" for s in subjects]
    else:
        found: dict[str, str] = {}
        for subject_id, address in with_values(
            store,
            {"subject_id": ("string", sorted(set(subjects)))},
            """SELECT c.subject_id, c.address FROM contacts c SEMI JOIN sc_values v USING (subject_id)
            WHERE c.channel = $channel ORDER BY c.subject_id, c.recorded_at""",
            {"channel": channel},
        ):
            found[str(subject_id)] = str(address)  # the latest on file, as ``contact_address``
        recipients = [found.get(s) for s in subjects]
    first = store.take_ids("message", len(messages))
    ids = list(range(first, first + len(messages)))
    with_values(
        store,
        {
            "message_id": ("int64", ids),
            "subject_id": ("string", subjects),
            "recipient": ("string", [r or "" for r in recipients]),
            "body": ("string", [m[1] for m in messages]),
            "status": ("string", ["queued" if r is not None else "no_address" for r in recipients]),
        },
        "INSERT INTO outbox SELECT message_id, $kind, subject_id, $channel, recipient, $title, body, status, 0, NULL, "
        "now(), NULL FROM sc_values",
        {"kind": kind, "channel": channel, "title": title},
    )
    return [
        None if r is None else Message(i, channel, r, title, m[1])
        for i, r, m in zip(ids, recipients, messages, strict=True)
    ]


def record_attempt(store: Store, message_id: int, error: str | None) -> None:
    """Write an attempt's outcome: ``sent``, or ``failed`` with its error."""
    with store.transaction():
        store.execute(
            "UPDATE outbox SET attempts = attempts + 1, status = ?, last_error = ?, "
            "sent_at = CASE WHEN ? THEN now() ELSE NULL END WHERE message_id = ?",
            ["sent" if error is None else "failed", error, error is None, message_id],
        )


def deliver(sender: Sender, message: Message) -> str | None:
    """Hand a message to its sender (outside the store's lock); the error in words, or None once sent."""
    try:
        sender.send(message)
    except OSError as exc:  # smtplib.SMTPException is an OSError too
        return f"{type(exc).__name__}: {exc}"[:500]
    return None


def list_outbox(store: Store, limit: int = 100, *, actor: str | None = None) -> list[dict[str, Any]]:
    """The latest messages, newest first. With ``actor``, the read is audited (``read_outbox``: how many messages
    it showed; they name residents and their addresses)."""
    rows = store.rows(
        "SELECT message_id, kind, channel, recipient, title, body, status, attempts, last_error, created_at, sent_at "
        "FROM outbox ORDER BY message_id DESC LIMIT ?",
        [limit],
    )
    if actor is not None:
        with store.transaction():
            append_audit(store, actor, "read_outbox", None, {"messages": len(rows)})
    return [{k: iso(v) for k, v in r.items()} for r in rows]
