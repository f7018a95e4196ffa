"""What printable text may not hold, shared by the registry and the matchmaking site (which may not import the
registry): control characters and the bidirectional controls."""

from __future__ import annotations

import unicodedata

__all__ = ["BIDI_CONTROLS", "control_character"]

# The bidirectional controls (embeddings, overrides, isolates: U+202A-U+202E, U+2066-U+2069). Shown to an operator or
# a resident, one reorders the text after it ("Trojan Source"): a name or a reason would read as something else.
BIDI_CONTROLS = frozenset(map(chr, (*range(0x202A, 0x202F), *range(0x2066, 0x206A))))


def control_character(text: str, allowed: str = "") -> str | None:
    """The first control character (Unicode category Cc) or bidirectional control in ``text`` not in ``allowed``."""
    return next((c for c in text if (unicodedata.category(c) == "Cc" or c in BIDI_CONTROLS) and c not in allowed), None)
