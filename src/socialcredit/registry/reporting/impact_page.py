"""An impact report as one self-contained HTML page: tables and SVG bar charts, no script, no external asset."""

from __future__ import annotations

from html import escape
from typing import Any

from socialcredit.languages import counted

__all__ = ["impact_html"]

_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1b1b1b}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #bbb;padding:.2rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left}caption{text-align:left;font-weight:600;padding:.3rem 0}
svg text{font:12px system-ui,sans-serif;fill:#1b1b1b}
"""


def _bars(title: str, items: list[tuple[str, float, str]], *, colour: str = "#2b6cb0") -> str:
    """A horizontal bar chart: one bar per (label, value, shown text)."""
    if not items:
        return f"<p>{escape(title)}: nothing changes.</p>"
    top = max((v for _, v, _ in items), default=0.0) or 1.0
    row, left, width = 22, 260, 380
    height = row * len(items) + 10
    parts = [
        f'<svg role="img" aria-label="{escape(title)}" width="{left + width + 220}" height="{height}" '
        f'viewBox="0 0 {left + width + 220} {height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for i, (label, value, text) in enumerate(items):
        y = 5 + i * row
        w = max(1.0, width * value / top) if value else 0.0
        parts.append(f'<text x="{left - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>')
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" fill="{colour}"/>')
        parts.append(f'<text x="{left + w + 6:.1f}" y="{y + 15}">{escape(text)}</text>')
    parts.append("</svg>")
    return f"<figure><figcaption>{escape(title)}</figcaption>{''.join(parts)}</figure>"


def _table(caption: str, head: list[str], rows: list[list[Any]]) -> str:
    th = "".join(f"<th scope='col'>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><caption>{escape(caption)}</caption><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.2f}%"


def impact_html(report: dict[str, Any]) -> str:
    """The page of an impact report (:func:`socialcredit.registry.reporting.impact.impact`)."""
    cur, cand = report["current"], report["candidate"]
    title = f"Impact of {cand['policy']} {cand['version']} against {cur['policy']} {cur['version']}"
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>{escape(title)}</h1>",
        f"<p>As of {escape(report['as_of'])}, on the records at change {report['watermark']}: "
        f"{report['changed']} of {counted(report['subjects'], 'subject')} "
        f"change{'s' if report['changed'] == 1 else ''} "
        "(tier, a list, a listing's cause or a service). "
        f"Candidate sha256 <code>{escape(cand['sha256'])}</code>.</p>",
    ]
    moves = [m for m in report["tiers"]["matrix"] if m["from"] != m["to"]]
    out.append("<h2>Tiers</h2>")
    out.append(_bars("Subjects who change tier", [(f"{m['from']} → {m['to']}", m["n"], str(m["n"])) for m in moves]))
    order = report["tiers"]["order"]
    cells = {(m["from"], m["to"]): m["n"] for m in report["tiers"]["matrix"]}
    out.append(
        _table(
            "Transitions (rows: current tier; columns: candidate tier)",
            ["from \\ to", *order],
            [[t, *[cells.get((t, u), 0) for u in order]] for t in order],
        )
    )
    out.append("<h2>Lists</h2>")
    moved = [
        (f"{x['list']}: {what}", x[key], str(x[key]))
        for x in report["lists"]
        for key, what in (
            ("entered", "enter"),
            ("left", "leave"),
            ("new_cause", "a new cause"),
            ("cause_ended", "a cause ends"),
        )
    ]
    out.append(_bars("Subjects who enter or leave a list, or gain or lose a cause", [m for m in moved if m[1]]))
    out.append(
        _table(
            "Who enters and leaves each list",
            ["list", "before", "after", "entered", "left", "new cause", "cause ended"],
            [
                [x["list"], x["before"], x["after"], x["entered"], x["left"], x["new_cause"], x["cause_ended"]]
                for x in report["lists"]
            ],
        )
    )
    if report["criteria"]:
        out.append(
            _table(
                "Causes (list criteria) that change",
                ["list", "criterion", "entered", "left"],
                [[c["list"], c["criterion"], c["entered"], c["left"]] for c in report["criteria"]],
            )
        )
    out.append("<h2>Services</h2>")
    flips = [
        (f"{s['service']}: grant → refuse", s["grant_to_refuse"], str(s["grant_to_refuse"])) for s in report["services"]
    ] + [
        (f"{s['service']}: refuse → grant", s["refuse_to_grant"], str(s["refuse_to_grant"])) for s in report["services"]
    ]
    out.append(_bars("Services that flip", [f for f in flips if f[1]], colour="#c05621"))
    out.append("<h2>Groups</h2>")
    if report["top_groups"]:
        out.append(
            _table(
                "The groups most changed",
                ["dimension", "group", "persons", "changed", "rate"],
                [[g["dimension"], g["group"], g["n"], g["changed"], _pct(g["rate"])] for g in report["top_groups"]],
            )
        )
    for dim, rows in report["groups"].items():
        out.append(
            _bars(
                f"Share of persons who change, by {dim.replace('_', ' ')}",
                [
                    (
                        r["group"],
                        r["rates"]["changed"] or 0.0,
                        f"{_pct(r['rates']['changed'])} ({r['counts']['changed']} of {r['n']})",
                    )
                    for r in rows
                ],
            )
        )
    out.append("<h2>Rules that drive the changes</h2>")
    if report["rules"]:
        out.append(
            _table(
                "Per rule: subjects whose points differ, of them those who change, summed point change",
                ["rule", "subjects", "who change", "points change"],
                [[r["rule"], r["subjects"], r["changed_subjects"], r["points_change"]] for r in report["rules"]],
            )
        )
    else:
        out.append("<p>No rule gives anyone different points: the changes come from lists, tiers or services.</p>")
    out.append("</main></body></html>")
    return "\n".join(out)
