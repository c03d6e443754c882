"""The weekly report: Markdown to paste, JSON to script, a self-contained HTML page to send.

The HTML carries its charts as inline SVG and its style inline: no external assets, and every
string from the internet escaped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from cockpit.scoring.leaderboard import Standing
from cockpit.textsafe import inert_line


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def _wait(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _md(text: str) -> str:
    """Untrusted text made inert for Markdown (no markup, links or HTML)."""
    out = inert_line(text)
    for ch in "\\`*_[]<>|#!":
        out = out.replace(ch, "\\" + ch)
    return out


def build(health: dict[str, Any], board: Sequence[Standing]) -> dict[str, Any]:
    """The report's content as JSON-ready data (what every format renders)."""
    climbers: list[Standing] = []
    seen: set[int] = set()
    for s in sorted(
        (s for s in board if s.places and s.places > 0), key=lambda s: (-(s.places or 0), s.rank)
    ):
        if s.who.key not in seen:  # one line per person
            seen.add(s.who.key)
            climbers.append(s)
    return {
        "health": health,
        "leaderboard": [s.to_json() for s in board],
        "climbers": [s.to_json() for s in climbers[:3]],
        "newcomers_in_top": [s.to_json() for s in board if s.newcomer][:3],
    }


def markdown(report: dict[str, Any]) -> str:
    h = report["health"]
    lines = [
        f"# Community report: {_md(h['community'])}",
        f"_{h['from'][:10]} to {h['until'][:10]} ({h['window']})_",
        "",
        "## The week in numbers",
        "",
        f"- **{h['members']}** members ({h['new_members']:+d}, joins {h['joins']}, "
        f"leaves {h['leaves']})",
        f"- **{h['active']}** active, **{h['speakers']}** spoke "
        f"({_pct(h['share_speaking'])} of members)",
        f"- DAU {h['dau']} · WAU {h['wau']} · MAU {h['mau']} (stickiness {_pct(h['stickiness'])})",
        f"- **{h['questions']}** questions, {h['answered']} answered, "
        f"median first response {_wait(h['median_first_response_s'])}; "
        f"**{h['unanswered']}** still unanswered",
        "",
        "## Who carried the community",
        "",
        "| # | person | platforms | score | level | trend | influence |",
        "|---|---|---|---:|---|---|---:|",
    ]
    for s in report["leaderboard"][:10]:
        lines.append(
            f"| {s['rank']} | {_md(s['name'])} | {', '.join(s['platforms'])} | "
            f"{s['score']:.1f} | {s['level']} | {_trend(s)} | {s['influence']} |"
        )
    if report["climbers"]:
        lines += [
            "",
            "Climbing: "
            + ", ".join(f"{_md(s['name'])} (▲{s['places']})" for s in report["climbers"])
            + ".",
        ]
    lines += ["", "## What people talk about", ""]
    if h["topic_heat"]:
        lines.append(
            "Rising this week: "
            + ", ".join(
                f"**{_md(t['term'])}** ({t['last_week']}→{t['this_week']})" for t in h["topic_heat"]
            )
            + "."
        )
    else:
        lines.append("No topic rose sharply this week.")
    lines += ["", "## Needs attention", ""]
    if h["churn_watch"]:
        for c in h["churn_watch"][:10]:
            lines.append(
                f"- {_md(c['name'])} has been quiet {c['days_quiet']} days "
                f"(had {c['conversations_90d']} conversations in the 90 days before): reach out."
            )
    else:
        lines.append("- No core member has gone quiet.")
    if h["unanswered_latest"]:
        lines.append(f"- {h['unanswered']} questions wait for an answer, the latest:")
        for q in h["unanswered_latest"][:3]:
            lines.append(
                f"  - {_md(q['author'])} in #{_md(q['channel'])}: “{_md(q['text'][:120])}”"
            )
    gone = h["newcomers_gone"]
    if h["newcomers"]:
        lines.append(
            f"- {h['newcomers']} newcomers arrived; {len(gone)} never came back after their first day."
        )
    return "\n".join(lines) + "\n"


def _trend(s: dict[str, Any]) -> str:
    """The standing's own trend (cockpit/scoring/leaderboard.py): one definition."""
    return str(s["trend"])


def _bars(values: Sequence[tuple[str, float]], width: int = 640, height: int = 160) -> str:
    """A bar chart as inline SVG."""
    if not values:
        return ""
    top = max(v for _, v in values) or 1.0
    step = width / len(values)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height + 20}" '
        f'width="100%" role="img">'
    ]
    for i, (label, v) in enumerate(values):
        h = (v / top) * height
        x = i * step
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{height - h:.1f}" width="{max(1.0, step - 2):.1f}" '
            f'height="{h:.1f}" fill="#4f7cac"><title>{html.escape(label)}: {v:g}</title></rect>'
        )
    parts.append(
        f'<text x="0" y="{height + 15}" font-size="11">{html.escape(values[0][0])}</text>'
        f'<text x="{width}" y="{height + 15}" font-size="11" text-anchor="end">'
        f"{html.escape(values[-1][0])}</text></svg>"
    )
    return "".join(parts)


def _hbars(values: Sequence[tuple[str, float]], width: int = 640) -> str:
    """Horizontal bars (the top contributors) as inline SVG."""
    if not values:
        return ""
    top = max(v for _, v in values) or 1.0
    row = 22
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {row * len(values)}" '
        f'width="100%" role="img">'
    ]
    for i, (label, v) in enumerate(values):
        w = (v / top) * (width - 260)
        y = i * row
        parts.append(
            f'<text x="0" y="{y + 15}" font-size="12">{html.escape(label[:30])}</text>'
            f'<rect x="220" y="{y + 4}" width="{w:.1f}" height="{row - 8}" fill="#e07a5f"/>'
            f'<text x="{224 + w:.1f}" y="{y + 15}" font-size="11">{v:.1f}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def page(report: dict[str, Any]) -> str:
    """One self-contained HTML page."""
    h = report["health"]
    e = html.escape
    daily = h["daily"]
    cards = [
        ("members", str(h["members"]), f"{h['new_members']:+d}"),
        ("active", str(h["active"]), f"DAU {h['dau']} · WAU {h['wau']} · MAU {h['mau']}"),
        ("spoke", _pct(h["share_speaking"]), f"{h['speakers']} people"),
        ("first response", _wait(h["median_first_response_s"]), "median, questions"),
        ("unanswered", str(h["unanswered"]), f"of {h['questions']} questions"),
    ]
    rows = "".join(
        f"<tr><td>{s['rank']}</td><td>{e(inert_line(s['name']))}</td>"
        f"<td>{e(', '.join(s['platforms']))}</td><td class=n>{s['score']:.1f}</td>"
        f"<td>{e(s['level'])}</td><td>{e(_trend(s))}</td><td class=n>{s['influence']}</td>"
        f"<td>{e(', '.join(s['badges']))}</td><td>{e(s['churn'] or '')}</td></tr>"
        for s in report["leaderboard"][:15]
    )
    churn = (
        "".join(
            f"<li>{e(inert_line(c['name']))}: quiet {c['days_quiet']} days, "
            f"{c['conversations_90d']} conversations in the 90 days before</li>"
            for c in h["churn_watch"][:10]
        )
        or "<li>No core member has gone quiet.</li>"
    )
    heat = (
        ", ".join(
            f"<b>{e(t['term'])}</b> ({t['last_week']}→{t['this_week']})" for t in h["topic_heat"]
        )
        or "no topic rose sharply"
    )
    unanswered = "".join(
        f"<li>{e(inert_line(q['author']))} in #{e(inert_line(q['channel']))}: "
        f"{e(inert_line(q['text'][:160]))}</li>"
        for q in h["unanswered_latest"][:5]
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Community report: {e(h["community"])}</title>
<style>
body{{font:15px/1.5 system-ui,sans-serif;max-width:760px;margin:2em auto;padding:0 1em;color:#222}}
h1{{margin-bottom:0}} .sub{{color:#666;margin-top:.2em}}
.cards{{display:flex;flex-wrap:wrap;gap:.6em}} .card{{border:1px solid #ddd;border-radius:8px;
padding:.6em .9em;min-width:120px}} .card b{{font-size:1.5em;display:block}} .card small{{color:#666}}
table{{border-collapse:collapse;width:100%;font-size:14px}} td,th{{border-bottom:1px solid #eee;
padding:.3em .4em;text-align:left}} .n{{text-align:right}}
</style></head><body>
<h1>Community report: {e(h["community"])}</h1>
<p class="sub">{e(h["from"][:10])} to {e(h["until"][:10])} ({e(h["window"])})</p>
<div class="cards">{"".join(f"<div class=card><small>{e(a)}</small><b>{e(b)}</b><small>{e(c)}</small></div>" for a, b, c in cards)}</div>
<h2>Active people per day</h2>
{_bars([(d["day"], d["active"]) for d in daily])}
<h2>Messages per day</h2>
{_bars([(d["day"], d["messages"]) for d in daily])}
<h2>Who carried the community</h2>
{_hbars([(inert_line(s["name"]), s["score"]) for s in report["leaderboard"][:10]])}
<table><tr><th>#</th><th>person</th><th>platforms</th><th class=n>score</th><th>level</th>
<th>trend</th><th class=n>influence</th><th>badges</th><th>churn</th></tr>{rows}</table>
<h2>What people talk about</h2><p>Rising this week: {heat}.</p>
<h2>Needs attention</h2><ul>{churn}</ul>
{f"<p>{h['unanswered']} questions wait for an answer; the latest:</p><ul>{unanswered}</ul>" if unanswered else ""}
<p>{h["newcomers"]} newcomers arrived; {len(h["newcomers_gone"])} never came back after their first day.</p>
</body></html>
"""
