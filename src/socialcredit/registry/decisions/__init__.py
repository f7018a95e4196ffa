"""Decisions: a decision with its reasons, what would change a refusal, decisions from memory, the inquiry writer."""
