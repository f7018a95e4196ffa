"""Locust users for the HTTP benchmark (benchmarks/http_bench.py starts locust headless with this file).

A railway ticket office asks one decision per request. Each user asks once a second (``constant_throughput``),
so N users are an offered load of N requests per second. The subject ids and the key come from the file named by
``SC_LOAD_SPEC`` (JSON: token, ids).
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

from locust import constant_throughput, task
from locust.contrib.fasthttp import FastHttpUser

_SPEC = json.loads(Path(os.environ["SC_LOAD_SPEC"]).read_text("utf-8"))
_IDS = itertools.cycle(_SPEC["ids"])
_HEADERS = {"Authorization": f"Bearer {_SPEC['token']}", "Content-Type": "application/json"}


class TicketOffice(FastHttpUser):
    wait_time = constant_throughput(1)

    @task
    def decide(self) -> None:
        body = {"subject_id": next(_IDS), "service": "high_speed_rail", "purpose": "ticket purchase"}
        self.client.post("/v1/decisions", data=json.dumps(body), headers=_HEADERS, name="/v1/decisions")
