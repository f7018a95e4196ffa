"""Prototype: measuring."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from api_helpers import auth, world

__all__ = ["world"]


def error_shape(ctx: Any, response: Any, case: Any) -> None:
    if 400 <= response.status_code < 500:
        body = response.json()
        err = body["error"]
        assert isinstance(err["code"], str) and isinstance(err["message"], str), body


def test_probe(world: dict[str, Any]) -> None:
    base = f"http://127.0.0.1:{world['port']}"
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    session = requests.Session()
    failures = []
    for result in schema.get_all_operations():
        op = result.ok()
        for ident in ("operator", "none"):
            headers = auth(world["keys"][ident]) if ident != "none" else {}
            stats: Counter[int] = Counter()
            t = time.monotonic()

            @settings(max_examples=30, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=st.one_of(op.as_strategy(GenerationMode.POSITIVE), op.as_strategy(GenerationMode.NEGATIVE)))
            def run(case: Any) -> None:
                r = case.call(base_url=base, session=session, headers=headers)
                stats[r.status_code] += 1
                case.validate_response(r, checks=[not_a_server_error, error_shape])

            try:
                run()
            except Exception as exc:
                failures.append((op.label, ident, str(exc)[:3000]))
            print(op.label, ident, f"{time.monotonic() - t:.2f}s", dict(stats))
            # coverage
            if ident == "operator":
                t = time.monotonic()
                gen = schema.config.generation_for(operation=op, phase="coverage")
                n = 0
                cstats: Counter[int] = Counter()
                for case in schema.iter_coverage_cases(op, generation_modes=list(GenerationMode), generation_config=gen):
                    n += 1
                    r = case.call(base_url=base, session=session, headers=headers)
                    cstats[r.status_code] += 1
                    try:
                        case.validate_response(r, checks=[not_a_server_error, error_shape])
                    except Exception as exc:
                        failures.append((op.label, "coverage", str(exc)[:3000]))
                print("  coverage", n, f"{time.monotonic() - t:.2f}s", dict(cstats))
    for f in failures:
        print("FAIL", *f)
