"""Parties and their API keys: who may call the service, in which role, for what.

A key is shown once, when issued (``sc_<key id>_<secret>``); the store keeps only the SHA-256 of the secret (a
random 32-byte secret needs no slow hash). Roles and what they bind:

* ``furnisher``      — one source: may send only that source's record types;
* ``relying_party``  — registered services and declared purposes: may ask only those decisions; a key may also name
  the policy the party relies on (its decisions then come from that policy's latest run);
* ``resident``       — one subject: sees only their own file;
* ``operator``       — runs scoring, publishes policies, manages parties, reads lists;
* ``auditor``        — reads the audit log, nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from socialcredit.errors import AuthError, InvalidRequestError, NotFoundError, SocialCreditError
from socialcredit.identifiers import squeeze, validate_subject_id
from socialcredit.policy import BUILTIN_POLICIES, builtin_policy
from socialcredit.registry.access.audit import append_audit
from socialcredit.registry.common import check_purpose
from socialcredit.registry.scoring.memoranda import memoranda_for, publish_shipped_memoranda
from socialcredit.registry.scoring.policies import get_policy
from socialcredit.store import Store
from socialcredit.textcheck import control_character

__all__ = [
    "ROLES",
    "AuthError",
    "IssuedKey",
    "KeyRing",
    "Party",
    "authenticate",
    "issue_key",
    "list_keys",
    "own_actors",
    "registered_resident",
    "revoke_key",
]

ROLES = ("furnisher", "relying_party", "resident", "operator", "auditor")
_TOKEN = re.compile(r"sc_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class Party:
    key_id: str
    role: str
    name: str
    source_id: str | None = None
    services: tuple[str, ...] = ()
    purposes: tuple[str, ...] = ()
    subject_id: str | None = None
    policy_id: str | None = None  # a relying party bound to the policy it relies on
    agency: str | None = None  # a relying party acting for an agency of a joint-punishment memorandum

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "services": list(self.services), "purposes": list(self.purposes)}


@dataclass(frozen=True)
class IssuedKey:
    party: Party
    token: str = field(repr=False)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def registered_resident(store: Store, subject: str, what: tuple[str, str]) -> tuple[str, str]:
    """A registered resident's identity number (validated, compacted) and name: what a resident key and a sign-in link
    are for (``what``, in English and in Chinese). Refused: an unregistered number (404, it would open nothing), an
    organisation's code (its legal representative acts for it with their own key)."""
    number = validate_subject_id(subject).number
    row = store.execute("SELECT kind, name FROM current_subjects WHERE subject_id = ?", [number]).fetchone()
    if row is None:
        raise NotFoundError(f"no registered subject {number!r}", field="subject", zh=f"没有登记的主体 {number!r}")
    if row[0] != "person":
        raise SocialCreditError(
            f"{number} is an organisation; {what[0]} are for residents",
            field="subject",
            zh=f"{number} 是企业；{what[1]}只发给居民",
        )
    return number, str(row[1] or number)


def own_actors(store: Store, subject_id: str, actor: str) -> set[str]:
    """The codes a change the resident made is logged under: the session's (``actor``) and every key and sign-in link
    of theirs (``key:…``, ``link:…``). A change logged under any other (an operator at the command line, ``cli``, or
    with a key) is the registry's, never shown as the code it is logged as (the site's consents and freeze, the
    console's ``consents``)."""
    return {actor} | {
        str(a)
        for (a,) in store.execute(
            "SELECT 'key:' || key_id FROM api_keys WHERE subject_id = $1 "
            "UNION ALL SELECT 'link:' || link_id FROM signin_links WHERE subject_id = $1",
            [subject_id],
        ).fetchall()
    }


def issue_key(
    store: Store,
    role: str,
    name: str,
    *,
    source: str | None = None,
    services: list[str] | None = None,
    purposes: list[str] | None = None,
    subject: str | None = None,
    policy: str | None = None,
    actor: str = "cli",
    known_services: set[str] | None = None,
    agency: str | None = None,
) -> IssuedKey:
    """Register a party with its role and scope, and issue its key (returned once, stored hashed)."""
    if role not in ROLES:
        raise SocialCreditError(
            f"unknown role {role!r}; roles: {', '.join(ROLES)}", zh=f"未知角色 {role!r}；角色有：{'、'.join(ROLES)}"
        )
    if not name.strip():
        raise SocialCreditError("a party needs a name", zh="须填写参与方名称")
    if (control := control_character(name.strip())) is not None:
        # the name is shown to every resident the party asks about (pages, files, `show` on a terminal): a NUL, an
        # escape sequence or a bidirectional override was stored as given
        raise InvalidRequestError(
            f"a party's name is one line of plain text; this one has a control character (U+{ord(control):04X})",
            code="invalid_name",
            field="name",
            zh=f"参与方名称须为一行纯文本；此名称含有控制字符（U+{ord(control):04X}）",
        )
    catalog = store.catalog
    if role == "furnisher":
        if source not in catalog.sources:
            raise SocialCreditError(
                f"a furnisher needs --source, one of: {', '.join(catalog.sources)}",
                zh=f"数据提供方须指明 --source，可选：{'、'.join(catalog.sources)}",
            )
    elif source is not None:
        raise SocialCreditError("only a furnisher has a source", zh="只有数据提供方有数据来源")
    if role == "relying_party":
        if not services or not purposes:
            raise SocialCreditError(
                "a relying party needs at least one --service and one --purpose",
                zh="依赖方至少须有一项 --service 和一项 --purpose",
            )
        if any(not p.strip() for p in purposes):
            # a decision with an empty purpose is refused, so a key declaring one would ask with no stated purpose
            raise SocialCreditError(
                "a declared purpose says why decisions are asked; it may not be empty",
                zh="申报的用途说明为何询问决定，不能为空",
            )
        for p in purposes:  # bounded as a decision's purpose is: each is logged with the inquiries asked under it
            check_purpose(p)
        offered = known_services if known_services is not None else _offered_services(store)
        unknown = sorted(set(services) - offered)
        if unknown:
            raise SocialCreditError(
                f"unknown service {', '.join(unknown)}; the policies offer: {', '.join(sorted(offered))}",
                field="services",
                zh=f"未知服务 {'、'.join(unknown)}；各政策提供的服务：{'、'.join(sorted(offered))}",
            )
    elif services or purposes:
        raise SocialCreditError("only a relying party has services and purposes", zh="只有依赖方有服务和用途")
    if policy is not None:
        if role != "relying_party":
            raise SocialCreditError("only a relying party is bound to a policy", zh="只有依赖方可限定于一项政策")
        policy = _bound_policy(store, policy, services or [])
    if agency is not None:
        if role != "relying_party":
            raise SocialCreditError("only a relying party acts for an agency", zh="只有依赖方可代表一个联合惩戒单位")
        _known_agency(store, agency, policy)
    if role == "resident":
        if not subject:
            raise SocialCreditError(
                "a resident key needs --subject (their identity number)", zh="居民密钥须指明 --subject（其身份证号码）"
            )
        subject, _ = registered_resident(store, subject, ("resident keys", "居民密钥"))
    elif subject is not None:
        raise SocialCreditError("only a resident key names a subject", zh="只有居民密钥指明主体")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    party = Party(
        key_id, role, name.strip(), source, tuple(services or ()), tuple(purposes or ()), subject, policy, agency
    )
    with store.transaction():
        store.execute(
            "INSERT INTO api_keys (key_id, role, name, source_id, services, purposes, subject_id, key_hash, "
            "created_at, revoked_at, policy_id, agency) VALUES (?, ?, ?, ?, ?, ?, ?, ?, now(), NULL, ?, ?)",
            [
                key_id,
                role,
                party.name,
                source,
                list(party.services),
                list(party.purposes),
                subject,
                _hash(secret),
                policy,
                agency,
            ],
        )
        append_audit(store, actor, "key_issued", subject, {k: v for k, v in party.as_dict().items() if v})
    return IssuedKey(party, f"sc_{key_id}_{secret}")


def _bound_policy(store: Store, policy: str, services: list[str]) -> str:
    """The id of the policy a relying party is bound to: shipped or published, offering every one of its services."""
    published = store.one("SELECT count(*) FROM policies WHERE policy_id = ?", [policy])
    if published:
        offered = {s.id for s in get_policy(store, policy).policy.services}
    elif policy in BUILTIN_POLICIES:
        offered = {s.id for s in builtin_policy(policy).policy.services}
    else:
        published = {str(r[0]) for r in store.execute("SELECT policy_id FROM policies").fetchall()}
        known = sorted({*BUILTIN_POLICIES, *published})
        raise SocialCreditError(
            f"unknown policy {policy!r}; policies: {', '.join(known)}",
            zh=f"未知政策 {policy!r}；政策有：{'、'.join(known)}",
        )
    missing = sorted(set(services) - offered)
    if missing:
        raise SocialCreditError(
            f"policy {policy} offers no service {', '.join(missing)}",
            zh=f"政策 {policy} 不提供服务 {'、'.join(missing)}",
        )
    return policy


def _known_agency(store: Store, agency: str, policy: str | None) -> None:
    """An agency named by a memorandum published for ``policy`` (any policy when None); the shipped memoranda of the
    shipped policies are published first, as the shipped policies are on first use."""
    for pid in BUILTIN_POLICIES:
        publish_shipped_memoranda(store, pid)
    pids = (
        [policy]
        if policy
        else [str(r[0]) for r in store.execute("SELECT DISTINCT policy_id FROM memoranda").fetchall()]
    )
    known = sorted({a.id for pid in pids for m in memoranda_for(store, pid) for a in m.memorandum.agencies})
    if agency not in known:
        where = f" for policy {policy}" if policy else ""
        raise SocialCreditError(
            f"unknown agency {agency!r}: no published memorandum{where} names it"
            + (f" (agencies: {', '.join(known)})" if known else ""),
            zh=f"未知单位 {agency!r}：没有已发布的{f'政策 {policy} 的' if policy else ''}备忘录列出它"
            + (f"（单位有：{'、'.join(known)}）" if known else ""),
        )


def _offered_services(store: Store) -> set[str]:
    """Services of the shipped policies and of every policy published in the store."""
    policies = [builtin_policy(pid).policy for pid in BUILTIN_POLICIES]
    for (pid,) in store.execute("SELECT DISTINCT policy_id FROM policies").fetchall():
        policies.append(get_policy(store, str(pid)).policy)
    return {s.id for p in policies for s in p.services}


def revoke_key(store: Store, key_id: str, *, actor: str = "cli") -> None:
    row = store.execute("SELECT revoked_at FROM api_keys WHERE key_id = ?", [key_id]).fetchone()
    if row is None:
        raise SocialCreditError(f"no key {key_id!r}", zh=f"没有密钥 {key_id!r}")
    if row[0] is not None:
        raise SocialCreditError(
            f"key {key_id} was revoked already, at {row[0]:%Y-%m-%d %H:%M:%S}",
            zh=f"密钥 {key_id} 已于 {row[0]:%Y-%m-%d %H:%M:%S} 吊销",
        )
    with store.transaction():
        store.execute("UPDATE api_keys SET revoked_at = now() WHERE key_id = ?", [key_id])
        append_audit(store, actor, "key_revoked", None, {"key_id": key_id})


def list_keys(store: Store, *, actor: str | None = None) -> list[dict[str, Any]]:
    """Every party and key (never the secret). A resident's key names the resident (its name, their identity
    number): with ``actor``, the look-up is audited as ``read_keys`` (how many it named)."""
    rows = store.rows(
        "SELECT key_id, role, name, source_id, services, purposes, subject_id, policy_id, agency, created_at, "
        "revoked_at "
        "FROM api_keys ORDER BY created_at, key_id"
    )
    if actor is not None:
        with store.transaction():
            append_audit(store, actor, "read_keys", None, {"entries": len(rows)})
    return rows


_KEY_COLUMNS = "role, name, source_id, services, purposes, subject_id, key_hash, revoked_at, policy_id, agency"


def authenticate(store: Store, token: str | None) -> Party:
    """The party of a bearer token; :class:`AuthError` if it is missing, malformed, unknown or revoked."""
    key_id, secret = _parse_token(token)
    row = store.execute(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE key_id = ?", [key_id]).fetchone()
    return _check(key_id, secret, row)


def _parse_token(token: str | None) -> tuple[str, str]:
    if not token:
        raise AuthError(
            "key_missing",
            "no API key: send it as 'Authorization: Bearer <key>'",
            zh="没有 API 密钥：请以 'Authorization: Bearer <密钥>' 发送",
        )
    match = _TOKEN.fullmatch(squeeze(token))  # as pasted: a zero-width space or a full-width letter is no part of it
    if match is None:
        raise AuthError(
            "key_malformed",
            "the API key is not of the form sc_<12 hex>_<secret>",
            zh="API 密钥的格式不是 sc_<12 位十六进制>_<密文>",
        )
    key_id, secret = match.groups()
    return key_id, secret


def _check(key_id: str, secret: str, row: Any) -> Party:
    if row is None or not hmac.compare_digest(str(row[6]), _hash(secret)):
        raise AuthError("key_unknown", "the API key is not known", zh="API 密钥无效")
    if row[7] is not None:
        raise AuthError(
            "key_revoked",
            f"the API key {key_id} was revoked at {row[7]:%Y-%m-%d %H:%M:%S}",
            zh=f"API 密钥 {key_id} 已于 {row[7]:%Y-%m-%d %H:%M:%S} 吊销",
        )
    return Party(key_id, row[0], row[1], row[2], tuple(row[3] or ()), tuple(row[4] or ()), row[5], row[8], row[9])


class KeyRing:
    """Every key of the store, in memory, for a service that authenticates thousands of requests a second.

    The service is the store's only writer, so it reloads the ring after it issues or revokes a key.
    """

    def __init__(self, store: Store) -> None:
        self.reload(store)

    def reload(self, store: Store) -> None:
        rows = store.execute(f"SELECT key_id, {_KEY_COLUMNS} FROM api_keys").fetchall()
        self._rows = {r[0]: r[1:] for r in rows}

    def authenticate(self, token: str | None) -> Party:
        key_id, secret = _parse_token(token)
        return _check(key_id, secret, self._rows.get(key_id))

    def known_id(self, token: str | None) -> str | None:
        """The id of the issued key ``token`` names (its secret unchecked), or None."""
        match = _TOKEN.fullmatch(squeeze(token)) if token else None
        return match[1] if match is not None and match[1] in self._rows else None


def require_key(store: Store, key_id: str) -> None:
    """NotFoundError (naming key_id) unless a key ``key_id`` was ever issued, revoked or not."""
    if not store.one("SELECT count(*) FROM api_keys WHERE key_id = ?", [key_id]):
        raise NotFoundError(f"no key {key_id!r}", field="key_id", zh=f"没有密钥 {key_id!r}")
