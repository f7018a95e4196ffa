"""The policy language: models, the condition language, loading and validation. Pure data."""

from socialcredit.policy.load import (
    BUILTIN_POLICIES,
    LoadedPolicy,
    builtin_policy,
    load_policy,
    parse_policy,
    record_env,
    subject_env,
)
from socialcredit.policy.model import Policy, Rule

__all__ = [
    "BUILTIN_POLICIES",
    "LoadedPolicy",
    "Policy",
    "Rule",
    "builtin_policy",
    "load_policy",
    "parse_policy",
    "record_env",
    "subject_env",
]
