"""Decisions: a subject's facts, a decision with its reasons and actions, the in-memory snapshot, inquiries."""
