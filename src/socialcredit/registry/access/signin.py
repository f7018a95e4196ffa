"""Signing in to the web pages: with an API key, or with a one-time link an operator issues; then a session.

A link (``scl_<link id>_<secret>``) signs in once, before it expires, as a resident (the link names their identity
number) or as the party of an existing key (an operator's link ends when the key is revoked). A session is a random
token kept by the browser in a cookie; the store keeps only SHA-256 hashes of links and sessions. Residents,
operators and furnishers (their disputes page) have pages; the other roles call the HTTP API.

A resident whose link was used or expired asks for a new one with their identity number (:func:`request_link`): it
goes through the notifications outbox to their channel (``registry/due_process/outbox.py``), and the answer is the
same whether or not the number is registered.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

from socialcredit.errors import AuthError, NotFoundError, SocialCreditError, TooManyRequestsError
from socialcredit.identifiers import squeeze, validate_subject_id
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.access.parties import Party, authenticate, registered_resident
from socialcredit.registry.due_process.outbox import Message, queue_message
from socialcredit.settings import get_settings
from socialcredit.store import Store

__all__ = [
    "WEB_ROLES",
    "IssuedLink",
    "Principal",
    "end_session",
    "issue_link",
    "redeem_link",
    "request_link",
    "session_principal",
    "sign_in_with_key",
    "start_session",
]

WEB_ROLES = ("resident", "operator", "furnisher")
LINK_HOURS = 24
REQUESTED_LINK_HOURS = 1  # a link a resident asks for themself lasts an hour
REQUESTS_PER_HOUR = 3  # links sent to one resident an hour at most (more are not sent, and the answer is the same)
SESSION_HOURS = 8
_LINK = re.compile(r"scl_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class Principal:
    """Who is signed in: ``actor`` names them in the audit log (``key:<id>`` or ``link:<id>``)."""

    actor: str
    role: str
    name: str
    subject_id: str | None = None
    key_id: str | None = None
    csrf: str = field(default="", repr=False)
    source_id: str | None = None  # a furnisher's source


@dataclass(frozen=True)
class IssuedLink:
    link_id: str
    role: str
    name: str
    expires_at: dt.datetime
    token: str = field(repr=False)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def _web_role(role: str, key_id: str) -> None:
    if role not in WEB_ROLES:
        article = "an" if role[0] in "aeiou" else "a"  # an auditor key, a relying_party key
        raise AuthError(
            "role_has_no_pages",
            f"{article} {role} key has no web pages (only resident, operator and furnisher keys do); key {key_id} "
            "calls the HTTP API",
        )


def issue_link(
    store: Store,
    *,
    subject: str | None = None,
    key_id: str | None = None,
    hours: int = LINK_HOURS,
    actor: str = "cli",
) -> IssuedLink:
    """A one-time sign-in link for a resident (``subject``) or for the party of a key (``key_id``)."""
    if subject is None and key_id is None:
        raise SocialCreditError("name the resident (their identity number) or the key (--key KEY_ID) the link is for")
    if subject is not None and key_id is not None:
        raise SocialCreditError("a sign-in link is for a resident (their identity number) or for a key, not both")
    if not 1 <= hours <= 24 * 30:
        raise SocialCreditError(f"a sign-in link lasts from 1 hour to 30 days, not {hours} hours")
    if subject is not None:
        subject, name = registered_resident(store, subject, ("sign-in links", "登录链接"))
        role = "resident"
    else:
        krow = store.execute("SELECT role, name, revoked_at FROM api_keys WHERE key_id = ?", [key_id]).fetchone()
        if krow is None:
            raise NotFoundError(f"no key {key_id!r}")
        if krow[2] is not None:
            raise SocialCreditError(f"key {key_id} was revoked at {krow[2]:%Y-%m-%d %H:%M:%S}")
        assert key_id is not None
        try:
            _web_role(str(krow[0]), key_id)
        except AuthError as exc:
            raise SocialCreditError(str(exc)) from None
        role, name = str(krow[0]), str(krow[1])
    link_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    expires = _now() + dt.timedelta(hours=hours)
    with store.transaction():
        store.execute(
            "INSERT INTO signin_links VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            [link_id, _hash(secret), role, name, key_id, subject, _now(), expires],
        )
        append_audit(store, actor, "signin_link_issued", subject, {"link_id": link_id, "role": role, "key_id": key_id})
    return IssuedLink(link_id, role, name, expires, f"scl_{link_id}_{secret}")


def request_link(store: Store, subject: str, base_url: str, channel: str) -> Message | None:
    """A resident asks for a new sign-in link with their identity number: a link valid once for an hour, queued
    in the outbox on ``channel``; the message to hand to the sender, or None when nothing is to be sent (no such
    resident, an organisation, no address on the channel, or over :data:`REQUESTS_PER_HOUR`). The face answers the
    same in every case. Audited when a resident is concerned."""
    number = validate_subject_id(subject).number  # a malformed number is told as such: that reveals no one
    row = store.execute("SELECT kind FROM current_subjects WHERE subject_id = ?", [number]).fetchone()
    if row is None or row[0] != "person":
        return None
    recent = store.one(
        "SELECT count(*) FROM outbox WHERE kind = 'signin_link' AND subject_id = ? AND created_at > ?",
        [number, _now() - dt.timedelta(hours=1)],
    )
    if int(recent) >= REQUESTS_PER_HOUR:
        with store.transaction():
            append_audit(store, "self-service", "signin_link_withheld", number, {"per_hour": REQUESTS_PER_HOUR})
        return None
    link = issue_link(store, subject=number, hours=REQUESTED_LINK_HOURS, actor="self-service")
    url = f"{base_url.rstrip('/')}/signin/link?token={link.token}"
    until = f"{link.expires_at:%Y-%m-%d %H:%M} UTC"
    title = "登录链接 / Your sign-in link"
    body = (
        f"您好，{link.name}：\n请打开以下链接登录您的信用档案（仅可使用一次，{until} 前有效）：\n{url}\n"
        "如果不是您本人申请，请忽略本消息。\n\n"
        f"Hello {link.name},\nopen this link to sign in to your credit file (valid once, until {until}):\n{url}\n"
        "If you did not ask for it, ignore this message.\n"
    )
    with store.transaction():
        message = queue_message(store, "signin_link", number, channel, title, body)
        append_audit(
            store,
            "self-service",
            "signin_link_requested",
            number,
            {"link_id": link.link_id, "channel": channel, "message_id": message.message_id if message else None},
        )
    return message


def redeem_link(store: Store, token: str | None) -> Principal:
    """The principal a link signs in (the link is used up); :class:`AuthError` if it cannot be used."""
    match = _LINK.fullmatch(squeeze(token or ""))  # as pasted (invisible characters, full-width forms)
    if match is None:
        raise AuthError("link_malformed", "this sign-in link is incomplete; copy the whole link")
    link_id, secret = match.groups()
    row = store.execute(
        "SELECT token_hash, role, name, key_id, subject_id, expires_at, used_at FROM signin_links WHERE link_id = ?",
        [link_id],
    ).fetchone()
    if row is None or not hmac.compare_digest(str(row[0]), _hash(secret)):
        raise AuthError("link_unknown", "this sign-in link is not known")
    role, name, key_id, subject_id, expires_at, used_at = row[1:]
    if used_at is not None:
        raise AuthError("link_used", f"this sign-in link was used at {used_at:%Y-%m-%d %H:%M}; ask for a new one")
    if expires_at <= _now():
        raise AuthError("link_expired", f"this sign-in link expired at {expires_at:%Y-%m-%d %H:%M}; ask for a new one")
    if key_id is not None:
        revoked = store.one("SELECT revoked_at FROM api_keys WHERE key_id = ?", [key_id])
        if revoked is not None:
            raise AuthError("key_revoked", f"the key {key_id} of this link was revoked")
    with store.transaction():
        store.execute("UPDATE signin_links SET used_at = ? WHERE link_id = ?", [_now(), link_id])
    actor = f"key:{key_id}" if key_id else f"link:{link_id}"
    return Principal(actor, role, name, subject_id, key_id)


def sign_in_with_key(store: Store, token: str | None) -> Principal:
    """The principal of an API key that has pages (resident or operator)."""
    party: Party = authenticate(store, token)
    _web_role(party.role, party.key_id)
    return Principal(
        f"key:{party.key_id}", party.role, party.name, party.subject_id, party.key_id, source_id=party.source_id
    )


def start_session(store: Store, who: Principal, *, method: str, hours: int = SESSION_HOURS) -> tuple[str, Principal]:
    """Open a session for ``who`` (audited); returns the session token (for the cookie) and the principal with
    the session's CSRF token."""
    session_id = secrets.token_hex(8)
    token = f"{session_id}.{secrets.token_urlsafe(32)}"
    csrf = secrets.token_urlsafe(24)
    now = _now()
    settings = get_settings()
    with store.transaction():
        store.execute("DELETE FROM web_sessions WHERE expires_at < ?", [now - dt.timedelta(days=30)])
        ended = _make_room(store, who, now, settings.max_sessions_per_key, settings.max_sessions)
        store.execute(
            "INSERT INTO web_sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            [
                session_id,
                _hash(token),
                who.actor,
                who.role,
                who.name,
                who.key_id,
                who.subject_id,
                csrf,
                dt.datetime.now(dt.UTC).replace(tzinfo=None),  # to the microsecond: which is oldest (_make_room)
                now + dt.timedelta(hours=hours),
            ],
        )
        append_audit(store, who.actor, "signin", who.subject_id, {"method": method, "session": session_id})
        for gone in ended:
            append_audit(
                store, who.actor, "session_ended", who.subject_id, {"session": gone, "limit": "max_sessions_per_key"}
            )
    return token, Principal(who.actor, who.role, who.name, who.subject_id, who.key_id, csrf, who.source_id)


def _make_room(store: Store, who: Principal, now: dt.datetime, per_key: int, total: int) -> list[str]:
    """Room for one more session of ``who``: the party's oldest open sessions beyond ``per_key`` - 1 are ended
    (their rows deleted: their browsers are asked to sign in again), and the rows of its ended or expired sessions
    beyond the newest ``per_key`` go, so a key's sign-ins keep at most twice ``per_key`` rows; with ``total``
    sessions open for every party together, the sign-in is refused (429 ``sessions_full``). Returns the sessions
    ended.

    The oldest is ended rather than the new one refused: a party who lost its cookies (another browser, a cleared
    one) must never be locked out for the hours its forgotten sessions still last."""
    party = "key_id = ?" if who.key_id is not None else "key_id IS NULL AND role = ? AND subject_id = ?"
    args: list[object] = [who.key_id] if who.key_id is not None else [who.role, who.subject_id]
    rows = store.execute(
        f"SELECT session_id, ended_at IS NULL AND expires_at > ? AS open FROM web_sessions WHERE {party} "
        "ORDER BY created_at DESC, session_id",
        [now, *args],
    ).fetchall()
    open_ = [str(r[0]) for r in rows if r[1]]
    closed = [str(r[0]) for r in rows if not r[1]]
    ended = open_[per_key - 1 :]
    gone = ended + closed[per_key:]
    if gone:
        store.execute("DELETE FROM web_sessions WHERE session_id IN (SELECT unnest(?::VARCHAR[]))", [gone])
    live = store.execute(
        "SELECT count(*), min(expires_at) FROM web_sessions WHERE ended_at IS NULL AND expires_at > ?", [now]
    ).fetchone()
    if live is not None and int(live[0]) >= total:
        wait = max(1, int((live[1] - now).total_seconds()))
        raise TooManyRequestsError(
            f"{live[0]:,} web sessions are open, the most this registry keeps (SOCIALCREDIT_MAX_SESSIONS = "
            f"{total:,}); sign in again after {wait} s, when one has ended",
            retry_after=wait,
            limit="sessions_full",
        )
    return ended


def session_principal(store: Store, token: str | None) -> Principal:
    """The principal of a session token; :class:`AuthError` if there is none, or it ended or expired, or its key
    was revoked since."""
    if not token or "." not in token:
        raise AuthError("session_missing", "not signed in")
    session_id = token.split(".", 1)[0]
    row = store.execute(
        "SELECT s.token_hash, s.actor, s.role, s.name, s.subject_id, s.key_id, s.csrf, s.expires_at, s.ended_at, "
        "k.revoked_at, k.source_id FROM web_sessions s LEFT JOIN api_keys k USING (key_id) WHERE s.session_id = ?",
        [session_id],
    ).fetchone()
    if row is None or not hmac.compare_digest(str(row[0]), _hash(token)):
        raise AuthError("session_unknown", "the session is not known; sign in again")
    if row[8] is not None:
        raise AuthError("session_ended", "you signed out; sign in again")
    if row[7] <= _now():
        raise AuthError("session_expired", "the session expired; sign in again")
    if row[9] is not None:
        raise AuthError("key_revoked", "the key of this session was revoked")
    return Principal(str(row[1]), str(row[2]), str(row[3]), row[4], row[5], str(row[6]), row[10])


def end_session(store: Store, token: str | None) -> None:
    """Sign out (audited); an unknown or already ended session is left as it is."""
    try:
        who = session_principal(store, token)
    except AuthError:
        return
    assert token is not None
    session_id = token.split(".", 1)[0]
    with store.transaction():
        store.execute("UPDATE web_sessions SET ended_at = ? WHERE session_id = ?", [_now(), session_id])
        append_audit(store, who.actor, "signout", who.subject_id, {"session": session_id})
