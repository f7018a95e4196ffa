"""The matchmaking service as a relying party: it asks the registry's public HTTP API for one thing only —
the ``matchmaking_badge`` decision, with the purpose "matchmaking" — and only about clients who consented.

It never sees records or scores: the batch answer is granted or not, the tier, and for a refusal the refusal and its
reasons (shown to the client about themself only), in the policy it relies on (``POLICY``). It keeps no cache, so
a withdrawn consent (the service stops asking) or a new score run (the registry answers from it) shows at once.

>>> with RegistryClient("http://127.0.0.1:8000", "sc_…") as registry:     # doctest: +SKIP
...     registry.badges(["110108199403150015"])
{'110108199403150015': Badge(granted=True, tier='very_good')}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from socialcredit.errors import RegistryError
from socialcredit.matchmaking.ranking import Badge
from socialcredit.matchmaking.settings import ISSUE_COMMAND, KEY_ENV, POLICY, PURPOSE, SERVICE, URL_ENV

__all__ = ["BATCH_LIMIT", "KEY_ENV", "PURPOSE", "SERVICE", "URL_ENV", "RegistryClient"]

BATCH_LIMIT = 10_000  # the registry's most subject ids per batch request


class RegistryClient:
    """A client of the registry's public API holding one relying-party key."""

    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not key:
            raise RegistryError(
                f"no relying-party key for the registry: set ${KEY_ENV} (issue one with `{ISSUE_COMMAND}`)",
                code="key_missing",
                zh=f"没有登记系统的依赖方密钥：请设置 ${KEY_ENV}（用 `{ISSUE_COMMAND}` 签发）",
            )
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {key}"},
            timeout=timeout,
            transport=transport,
        )
        self.requests = 0  # HTTP requests made

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _post(self, path: str, body: dict[str, Any], params: dict[str, str] | None = None) -> httpx.Response:
        try:
            self.requests += 1
            return self._http.post(path, json=body, params=params)
        except httpx.HTTPError as exc:
            raise RegistryError(
                f"cannot reach the registry at {self.base_url}: {type(exc).__name__}: {exc}",
                code="unreachable",
                zh=f"无法连接 {self.base_url} 的登记系统：{type(exc).__name__}: {exc}",
            ) from None

    @staticmethod
    def _fail(r: httpx.Response) -> RegistryError:
        try:
            error = r.json()["error"]
            code, message = str(error["code"]), str(error["message"])
        except (ValueError, KeyError, TypeError):
            code, message = "http_error", r.text[:200]
        if r.status_code in (401, 403):
            said, zh = (
                f"the registry refused the matchmaking key ({code}): {message}",
                f"登记系统拒绝了本站的密钥（{code}）：{message}",
            )
        else:
            said, zh = (
                f"the registry answered {r.status_code} ({code}): {message}",
                f"登记系统答复 {r.status_code}（{code}）：{message}",
            )
        return RegistryError(said, code=code, status=r.status_code, zh=zh)

    def badges(self, subject_ids: Sequence[str], lang: str = "en", *, explain: bool = False) -> dict[str, Badge]:
        """The badge decision for each subject (``POST /v1/decisions/batch``, 10 000 at a time).

        Subjects the registry has not scored are left out of the answer (the batch answers them with
        ``granted: null`` and an error, and logs no inquiry about them)."""
        out: dict[str, Badge] = {}
        for start in range(0, len(subject_ids), BATCH_LIMIT):
            todo = list(dict.fromkeys(subject_ids[start : start + BATCH_LIMIT]))
            # the refusal and its reasons only when asked (a client's own badge): ranking needs granted and tier
            body = {"service": SERVICE, "purpose": PURPOSE, "subject_ids": todo, "lang": lang, "explain": explain}
            r = self._post("/v1/decisions/batch", body, {"policy": POLICY})
            if r.status_code != 200:
                raise self._fail(r)
            for d in r.json()["decisions"]:
                if d.get("granted") is not None:
                    reasons = tuple(str(r["text"]) for r in d.get("reasons") or ()) if not d["granted"] else ()
                    out[str(d["subject_id"])] = Badge(bool(d["granted"]), str(d["tier"]), d.get("refusal"), reasons)
        return out
