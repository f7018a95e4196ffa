"""Charts drawn on the server as SVG: no script, readable by screen readers (a title, a description, and each
bar's value in its own <title>); the pages print the same numbers in a table beside each chart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from socialcredit.policy.words import figure

__all__ = ["Bar", "bars", "diverging", "histogram"]

_FONT = 'font-family="system-ui, sans-serif"'


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str = ""  # what is printed at the end of the bar (the value, formatted)
    tone: str = "main"  # main | warn | good | muted: a CSS class


def _open(width: int, height: int, title: str, desc: str, cls: str) -> str:
    return (
        f'<svg class="chart {cls}" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>"
    )


# Labels are measured at the largest size the stylesheet draws them (16px on a phone, where the chart is scaled down
# and the text made larger to stay readable), so that no label leaves its chart at any width.
_DRAWN = 16.0
_LINE = 18  # the height of one line of a wrapped label


def _text_width(text: str, size: float = _DRAWN) -> float:
    """About how wide ``text`` is drawn (generously): CJK characters are square, Latin ones about 0.62 as wide."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.62 for ch in text)


def _wrap(text: str, room: float) -> list[str]:
    """``text`` in lines no wider than ``room``: broken at spaces where it can be, else between characters."""
    if _text_width(text) <= room:
        return [text]
    lines: list[str] = []
    line = ""
    for word in text.replace(" · ", " ·\u00a0").split(" "):
        candidate = f"{line} {word}" if line else word
        if _text_width(candidate) <= room:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for ch in word:  # a word wider than the room (a Chinese phrase): broken between characters
            if _text_width(line + ch) > room and line:
                lines.append(line)
                line = ""
            line += ch
    if line:
        lines.append(line)
    return [x.replace("\u00a0", " ") for x in lines]


def _label(lines: list[str], x: float, y: float, anchor: str, cls: str = "label") -> str:
    """A text of one or more lines, the first on baseline ``y``."""
    spans = "".join(
        f'<tspan x="{x:.1f}" dy="{0 if i == 0 else _LINE}">{escape(line)}</tspan>' for i, line in enumerate(lines)
    )
    return f'<text class="{cls}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {_FONT}>{spans}</text>'


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 or v == int(v) else f"{v:,.1f}"


def histogram(bins: Sequence[tuple[int, int, int]], *, title: str, desc: str, x_label: str, width: int = 480) -> Markup:
    """Bars of counts over score bins ``(lo, hi, n)`` with the axis labelled every few bins."""
    height, bottom, top = 240, 40, 12
    peak = max((n for _, _, n in bins), default=0) or 1
    left = int(max(_text_width(_fmt(peak * frac), 12) for frac in (0.0, 0.5, 1.0)) + 14)
    inner_w, inner_h = width - left - 24, height - bottom - top
    step = inner_w / max(len(bins), 1)
    parts = [_open(width, height, title, desc, "histogram")]
    for frac in (0.0, 0.5, 1.0):
        y = top + inner_h * (1 - frac)
        parts.append(f'<line class="grid" x1="{left}" x2="{left + inner_w}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" {_FONT}>{_fmt(peak * frac)}</text>'
        )
    every = max(1, round(len(bins) / (width // 90)))
    for i, (lo, hi, n) in enumerate(bins):
        h = inner_h * n / peak
        x = left + i * step
        parts.append(
            f'<rect class="bar" x="{x + 0.5:.1f}" y="{top + inner_h - h:.1f}" width="{max(step - 1, 1):.1f}" '
            f'height="{h:.1f}"><title>{lo}–{hi - 1}: {n:,}</title></rect>'
        )
        if i % every == 0:
            parts.append(
                f'<text class="axis" x="{x:.1f}" y="{top + inner_h + 16}" text-anchor="start" {_FONT}>{lo}</text>'
            )
    parts.append(
        f'<text class="axis" x="{left + inner_w / 2:.1f}" y="{height - 4}" text-anchor="middle" {_FONT}>'
        f"{escape(x_label)}</text></svg>"
    )
    return Markup("".join(parts))


def bars(items: Sequence[Bar], *, title: str, desc: str, lo: float | None = None, width: int = 480) -> Markup:
    """Horizontal bars, one per item, the label on the left (wrapped when long) and the value at the end; the scale
    starts at ``lo`` (0 by default) so that small differences between large values stay visible when asked for."""
    room = width * 0.42 - 14
    wrapped = [_wrap(b.label, room) for b in items]
    label_w = round(min(max((_text_width(x) for lines in wrapped for x in lines), default=0) + 14, width * 0.42))
    texts = [b.text or _fmt(b.value) for b in items]
    value_w = max((_text_width(x) for x in texts), default=0) + 10
    values = [b.value for b in items]
    base = 0.0 if lo is None else lo
    top = max(values, default=1.0)
    span = (top - base) or 1.0
    inner = max(width - label_w - value_w, 20.0)
    parts: list[str] = []
    y = 4.0
    for b, lines, text in zip(items, wrapped, texts, strict=True):
        row = max(24, _LINE * len(lines) + 6)
        w = max(inner * (b.value - base) / span, 1.0) if b.value > base else 1.0
        parts.append(
            _label(lines, label_w - 8, y + 16, "end")
            + f'<rect class="bar {escape(b.tone)}" x="{label_w}" y="{y + 3:.1f}" width="{w:.1f}" height="{16}">'
            f"<title>{escape(b.label)}: {escape(text)}</title></rect>"
            f'<text class="value" x="{label_w + w + 6:.1f}" y="{y + 16:.1f}" {_FONT}>{escape(text)}</text>'
        )
        y += row
    height = round(y + 4)
    return Markup(_open(width, height, title, desc, "bars") + "".join(parts) + "</svg>")


def diverging(
    items: Sequence[tuple[str, float, float | None, float | None]], *, title: str, desc: str, width: int = 480
) -> Markup:
    """Points per dimension ``(label, points, min, max)`` as bars left (lost) or right (gained) of zero, over the
    range each dimension may take; a long label is wrapped, never cut."""
    room = width * 0.3 - 14
    wrapped = [_wrap(x[0], room) for x in items]
    label_w = round(min(max((_text_width(x) for lines in wrapped for x in lines), default=0) + 14, width * 0.3))
    texts = [figure(v, minus="-", signed=True) for _, v, _, _ in items]  # as the table beside it writes them
    value_w = max((_text_width(x) for x in texts), default=0) + 8
    reach = max([abs(v) for _, v, _, _ in items] + [abs(x) for _, _, a, b in items for x in (a, b) if x is not None])
    reach = reach or 1.0
    inner = width - label_w - 10
    zero = label_w + inner / 2
    scale = max(inner / 2 - value_w, 10.0) / reach
    rows = [max(30, _LINE * len(lines) + 12) for lines in wrapped]
    height = sum(rows) + 24
    parts = [_open(width, height, title, desc, "diverging")]
    parts.append(f'<line class="zero" x1="{zero:.1f}" x2="{zero:.1f}" y1="0" y2="{height - 18}"/>')
    parts.append(f'<text class="axis" x="{zero:.1f}" y="{height - 4}" text-anchor="middle" {_FONT}>0</text>')
    y = 4
    for (label, v, lo, hi), lines, text, row in zip(items, wrapped, texts, rows, strict=True):
        if lo is not None or hi is not None:
            a = zero + scale * (lo if lo is not None else -reach)
            b = zero + scale * (hi if hi is not None else reach)
            parts.append(f'<rect class="range" x="{a:.1f}" y="{y + 8}" width="{b - a:.1f}" height="{14}"/>')
        w = abs(v) * scale
        x = zero if v >= 0 else zero - w
        tone = "good" if v > 0 else "warn" if v < 0 else "muted"
        parts.append(
            _label(lines, label_w - 8, y + 20, "end")
            + f'<rect class="bar {tone}" x="{x:.1f}" y="{y + 5}" width="{max(w, 1.5):.1f}" height="{20}">'
            f"<title>{escape(label)}: {text}</title></rect>"
        )
        tx = x + w + 6 if v >= 0 else x - 6
        anchor = "start" if v >= 0 else "end"
        parts.append(f'<text class="value" x="{tx:.1f}" y="{y + 20}" text-anchor="{anchor}" {_FONT}>{text}</text>')
        y += row
    parts.append("</svg>")
    return Markup("".join(parts))
