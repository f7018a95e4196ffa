"""The service itself: alive, and what it has done (Prometheus metrics). No key needed."""

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from socialcredit.api.bodies import JSONRoute
from socialcredit.api.deps import Public, ServiceDep
from socialcredit.api.models import Health

__all__ = ["router"]

router = APIRouter(tags=["service"], route_class=JSONRoute)


@router.get("/healthz", dependencies=[Public])
def healthz(service: ServiceDep) -> Health:
    """Alive, with the runs decisions are answered from and the inquiries waiting in the journal."""
    return Health(
        status="ok",
        runs=sorted({s.run_id for s in service.snapshots.values()}),
        journal_pending=service.journal.pending,
        explanations={str(run): state for run, state in sorted(service.explanations().items()) if state != "none"},
    )


@router.get("/metrics", response_class=PlainTextResponse, dependencies=[Public])
def metrics(service: ServiceDep) -> str:
    """Prometheus text format."""
    lines = [
        "# HELP socialcredit_requests_total HTTP requests by route and status.",
        "# TYPE socialcredit_requests_total counter",
    ]
    for (path, status), n in sorted(service.requests.items()):
        lines.append(f'socialcredit_requests_total{{route="{path}",status="{status}"}} {n}')
    lines += [
        "# HELP socialcredit_request_seconds_total Time spent answering, by route.",
        "# TYPE socialcredit_request_seconds_total counter",
    ]
    for path, secs in sorted(service.seconds.items()):
        lines.append(f'socialcredit_request_seconds_total{{route="{path}"}} {secs:.6f}')
    lines += [
        "# HELP socialcredit_decisions_total Decisions answered, by outcome.",
        "# TYPE socialcredit_decisions_total counter",
    ]
    for outcome, n in sorted(service.decisions.items()):
        lines.append(f'socialcredit_decisions_total{{outcome="{outcome}"}} {n}')
    lines += [
        "# HELP socialcredit_inquiries_pending Inquiries journalled, not yet moved into the store.",
        "# TYPE socialcredit_inquiries_pending gauge",
        f"socialcredit_inquiries_pending {service.journal.pending}",
    ]
    lines += [
        "# HELP socialcredit_explanations_loaded Whether a run's explanations are held in memory (0: still loading, or "
        "failed: full decisions read them from the store).",
        "# TYPE socialcredit_explanations_loaded gauge",
    ]
    for run, state in sorted(service.explanations().items()):
        if state != "none":
            lines.append(f'socialcredit_explanations_loaded{{run="{run}"}} {int(state == "loaded")}')
    return "\n".join(lines) + "\n"
