"""Domain services shared by every face (CLI, HTTP API, web): ingest, score runs, decisions, reports.

The domains, each a sub-package, in layers (a domain imports only those below it; the import contract in
pyproject.toml): service, reporting, decisions, due_process, scoring, records, access, and common at the bottom.

The names below are the registry's public surface: what the faces call. They are imported on first use, so
``import socialcredit.registry`` costs nothing; the faces may import them from here or from their modules.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from socialcredit.registry.access.audit import append_audit, audited_refusal, kept_words, verify_audit
    from socialcredit.registry.access.checkpoints import (
        Checkpoint,
        check_signature,
        keep_checkpoint,
        keep_received_checkpoint,
        parse_checkpoint,
        signed_checkpoint,
        unkeep_checkpoint,
        verify_audit_log,
        write_checkpoint,
    )
    from socialcredit.registry.access.parties import ROLES, Party, issue_key, list_keys, revoke_key
    from socialcredit.registry.access.signin import (
        Principal,
        end_session,
        issue_link,
        redeem_link,
        session_principal,
        sign_in_with_key,
        start_session,
    )
    from socialcredit.registry.access.signing import load_private_key, new_private_key, public_key_text
    from socialcredit.registry.decisions.decide import Decision, decide
    from socialcredit.registry.due_process.disputes import (
        add_information,
        add_received_information,
        answer_dispute,
        close_forwarded,
        dispute_periods,
        file_dispute,
        get_dispute,
        lapse_overdue,
        list_disputes,
        not_before,
        open_received,
        recertified_words,
    )
    from socialcredit.registry.due_process.enrollment import notify_mandatory
    from socialcredit.registry.due_process.links import (
        close_link_dispute,
        end_withdrawn_listings,
        file_link_dispute,
        get_link_dispute,
        linked_identities,
        list_link_disputes,
        overdue_link_disputes,
        resolve_displaced_link_disputes,
    )
    from socialcredit.registry.due_process.listings import end_for_origin, list_listings
    from socialcredit.registry.due_process.notifications import list_notifications, notify
    from socialcredit.registry.due_process.overrides import override_decision, override_listing
    from socialcredit.registry.due_process.public_lists import mask_id, public_lookup
    from socialcredit.registry.due_process.repair import (
        apply_for_repair,
        close_forwarded_repair,
        decide_repair,
        list_repairs,
        open_received_repair,
        report_fulfilment,
    )
    from socialcredit.registry.due_process.retention import purge_expired
    from socialcredit.registry.hooks import hookimpl, plugin_manager
    from socialcredit.registry.records.consent import consent_history, current_consents, set_consent
    from socialcredit.registry.records.ingest import BatchOptions, IngestReport, ingest_file
    from socialcredit.registry.records.limits import MAX_NUMBER
    from socialcredit.registry.records.origin import origin_label, origin_note
    from socialcredit.registry.records.population import load_population
    from socialcredit.registry.records.versions import latest_record, withdraw_record
    from socialcredit.registry.reporting.report import list_members, subject_report, top_subjects
    from socialcredit.registry.reporting.resident_file import export_file, render_html
    from socialcredit.registry.scoring.export import export_inputs, publish_results, score_on_spark
    from socialcredit.registry.scoring.policies import get_policy, policies_in_use, publish_policy, resolve_policy
    from socialcredit.registry.scoring.runs import (
        RunSummary,
        check_as_of,
        in_force_sql,
        latest_run,
        rerun,
        run_in_force,
        score,
    )
    from socialcredit.registry.service import Service

# name -> the module that defines it
_WHERE = {
    "close_forwarded": "socialcredit.registry.due_process.disputes",
    "dispute_periods": "socialcredit.registry.due_process.disputes",
    "recertified_words": "socialcredit.registry.due_process.disputes",
    "add_received_information": "socialcredit.registry.due_process.disputes",
    "close_forwarded_repair": "socialcredit.registry.due_process.repair",
    "mask_id": "socialcredit.registry.due_process.public_lists",
    "open_received_repair": "socialcredit.registry.due_process.repair",
    "open_received": "socialcredit.registry.due_process.disputes",
    "not_before": "socialcredit.registry.due_process.disputes",
    "end_for_origin": "socialcredit.registry.due_process.listings",
    "notify": "socialcredit.registry.due_process.notifications",
    # records
    "BatchOptions": "socialcredit.registry.records.ingest",
    "IngestReport": "socialcredit.registry.records.ingest",
    "ingest_file": "socialcredit.registry.records.ingest",
    "MAX_NUMBER": "socialcredit.registry.records.limits",
    "latest_record": "socialcredit.registry.records.versions",
    "withdraw_record": "socialcredit.registry.records.versions",
    "load_population": "socialcredit.registry.records.population",
    "consent_history": "socialcredit.registry.records.consent",
    "current_consents": "socialcredit.registry.records.consent",
    "notify_mandatory": "socialcredit.registry.due_process.enrollment",
    "set_consent": "socialcredit.registry.records.consent",
    # scoring
    "RunSummary": "socialcredit.registry.scoring.runs",
    "check_as_of": "socialcredit.registry.scoring.runs",
    "latest_run": "socialcredit.registry.scoring.runs",
    "in_force_sql": "socialcredit.registry.scoring.runs",
    "run_in_force": "socialcredit.registry.scoring.runs",
    "rerun": "socialcredit.registry.scoring.runs",
    "score": "socialcredit.registry.scoring.runs",
    "get_policy": "socialcredit.registry.scoring.policies",
    "policies_in_use": "socialcredit.registry.scoring.policies",
    "publish_policy": "socialcredit.registry.scoring.policies",
    "resolve_policy": "socialcredit.registry.scoring.policies",
    "export_inputs": "socialcredit.registry.scoring.export",
    "publish_results": "socialcredit.registry.scoring.export",
    "score_on_spark": "socialcredit.registry.scoring.export",
    # decisions
    "Decision": "socialcredit.registry.decisions.decide",
    # extension points and what plugins read
    "hookimpl": "socialcredit.registry.hooks",
    "plugin_manager": "socialcredit.registry.hooks",
    "origin_label": "socialcredit.registry.records.origin",
    "origin_note": "socialcredit.registry.records.origin",
    "decide": "socialcredit.registry.decisions.decide",
    # due_process
    "add_information": "socialcredit.registry.due_process.disputes",
    "answer_dispute": "socialcredit.registry.due_process.disputes",
    "file_dispute": "socialcredit.registry.due_process.disputes",
    "get_dispute": "socialcredit.registry.due_process.disputes",
    "lapse_overdue": "socialcredit.registry.due_process.disputes",
    "list_disputes": "socialcredit.registry.due_process.disputes",
    "list_listings": "socialcredit.registry.due_process.listings",
    "close_link_dispute": "socialcredit.registry.due_process.links",
    "end_withdrawn_listings": "socialcredit.registry.due_process.links",
    "file_link_dispute": "socialcredit.registry.due_process.links",
    "get_link_dispute": "socialcredit.registry.due_process.links",
    "linked_identities": "socialcredit.registry.due_process.links",
    "list_link_disputes": "socialcredit.registry.due_process.links",
    "overdue_link_disputes": "socialcredit.registry.due_process.links",
    "resolve_displaced_link_disputes": "socialcredit.registry.due_process.links",
    "list_notifications": "socialcredit.registry.due_process.notifications",
    "override_decision": "socialcredit.registry.due_process.overrides",
    "override_listing": "socialcredit.registry.due_process.overrides",
    "public_lookup": "socialcredit.registry.due_process.public_lists",
    "apply_for_repair": "socialcredit.registry.due_process.repair",
    "decide_repair": "socialcredit.registry.due_process.repair",
    "list_repairs": "socialcredit.registry.due_process.repair",
    "report_fulfilment": "socialcredit.registry.due_process.repair",
    "export_file": "socialcredit.registry.reporting.resident_file",
    "render_html": "socialcredit.registry.reporting.resident_file",
    "purge_expired": "socialcredit.registry.due_process.retention",
    # access
    "append_audit": "socialcredit.registry.access.audit",
    "audited_refusal": "socialcredit.registry.access.audit",
    "kept_words": "socialcredit.registry.access.audit",
    "verify_audit": "socialcredit.registry.access.audit",
    "Checkpoint": "socialcredit.registry.access.checkpoints",
    "check_signature": "socialcredit.registry.access.checkpoints",
    "keep_checkpoint": "socialcredit.registry.access.checkpoints",
    "keep_received_checkpoint": "socialcredit.registry.access.checkpoints",
    "parse_checkpoint": "socialcredit.registry.access.checkpoints",
    "signed_checkpoint": "socialcredit.registry.access.checkpoints",
    "unkeep_checkpoint": "socialcredit.registry.access.checkpoints",
    "verify_audit_log": "socialcredit.registry.access.checkpoints",
    "write_checkpoint": "socialcredit.registry.access.checkpoints",
    "load_private_key": "socialcredit.registry.access.signing",
    "new_private_key": "socialcredit.registry.access.signing",
    "public_key_text": "socialcredit.registry.access.signing",
    "ROLES": "socialcredit.registry.access.parties",
    "Party": "socialcredit.registry.access.parties",
    "issue_key": "socialcredit.registry.access.parties",
    "list_keys": "socialcredit.registry.access.parties",
    "revoke_key": "socialcredit.registry.access.parties",
    "Principal": "socialcredit.registry.access.signin",
    "end_session": "socialcredit.registry.access.signin",
    "issue_link": "socialcredit.registry.access.signin",
    "redeem_link": "socialcredit.registry.access.signin",
    "session_principal": "socialcredit.registry.access.signin",
    "sign_in_with_key": "socialcredit.registry.access.signin",
    "start_session": "socialcredit.registry.access.signin",
    # reporting
    "list_members": "socialcredit.registry.reporting.report",
    "subject_report": "socialcredit.registry.reporting.report",
    "top_subjects": "socialcredit.registry.reporting.report",
    # service
    "Service": "socialcredit.registry.service",
}

__all__ = [
    "MAX_NUMBER",
    "ROLES",
    "BatchOptions",
    "Checkpoint",
    "Decision",
    "IngestReport",
    "Party",
    "Principal",
    "RunSummary",
    "Service",
    "add_information",
    "add_received_information",
    "answer_dispute",
    "append_audit",
    "apply_for_repair",
    "audited_refusal",
    "check_as_of",
    "check_signature",
    "close_forwarded",
    "close_forwarded_repair",
    "close_link_dispute",
    "consent_history",
    "current_consents",
    "decide",
    "decide_repair",
    "dispute_periods",
    "end_for_origin",
    "end_session",
    "end_withdrawn_listings",
    "export_file",
    "export_inputs",
    "file_dispute",
    "file_link_dispute",
    "get_dispute",
    "get_link_dispute",
    "get_policy",
    "hookimpl",
    "in_force_sql",
    "ingest_file",
    "issue_key",
    "issue_link",
    "keep_checkpoint",
    "keep_received_checkpoint",
    "kept_words",
    "lapse_overdue",
    "latest_record",
    "latest_run",
    "linked_identities",
    "list_disputes",
    "list_keys",
    "list_link_disputes",
    "list_listings",
    "list_members",
    "list_notifications",
    "list_repairs",
    "load_population",
    "load_private_key",
    "mask_id",
    "new_private_key",
    "not_before",
    "notify",
    "notify_mandatory",
    "open_received",
    "open_received_repair",
    "origin_label",
    "origin_note",
    "overdue_link_disputes",
    "override_decision",
    "override_listing",
    "parse_checkpoint",
    "plugin_manager",
    "policies_in_use",
    "public_key_text",
    "public_lookup",
    "publish_policy",
    "publish_results",
    "purge_expired",
    "recertified_words",
    "redeem_link",
    "render_html",
    "report_fulfilment",
    "rerun",
    "resolve_displaced_link_disputes",
    "resolve_policy",
    "revoke_key",
    "run_in_force",
    "score",
    "score_on_spark",
    "session_principal",
    "set_consent",
    "sign_in_with_key",
    "signed_checkpoint",
    "start_session",
    "subject_report",
    "top_subjects",
    "unkeep_checkpoint",
    "verify_audit",
    "verify_audit_log",
    "withdraw_record",
    "write_checkpoint",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'socialcredit.registry' has no attribute {name!r}")
    value = getattr(import_module(_WHERE[name]), name)
    globals()[name] = value  # later look-ups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
