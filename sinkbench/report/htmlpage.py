"""The frame of sinkbench's HTML reports: one self-contained page, its stylesheet, and escaping.

Shared by the run report (report/html.py) and the sweep report
(sweep/html.py). The page loads nothing: no script, no font, no image, no
stylesheet from anywhere else, so it opens offline and a CI artifact viewer
shows it as written. Colours are CSS variables with a light and a dark set
(`prefers-color-scheme`); print always uses the light set, drops the
navigation and keeps each chart on one page; below 640 px the charts' tick
labels grow (an SVG's text shrinks with it) and wide tables scroll sideways.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from sinkbench import __version__
from sinkbench.report import _text as fmt

_LIGHT = """
  --bg: #ffffff; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --card: #f6f8fa;
  --pass: #1a7f37; --fail: #cf222e; --warn: #9a6700;
  --fault: rgba(207, 34, 46, 0.13); --fault-edge: #cf222e; --drain: rgba(9, 105, 218, 0.12); --drain-edge: #0969da;
  --c1: #1a7f37; --c2: #0969da; --c3: #cf222e; --c4: #8250df; --c5: #bc4c00; --c6: #6e7781; --c7: #bf3989;
  --c8: #1b7c83;"""
_DARK = """
  --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --line: #3d444d; --card: #151b23;
  --pass: #3fb950; --fail: #f85149; --warn: #d29922;
  --fault: rgba(248, 81, 73, 0.18); --fault-edge: #f85149; --drain: rgba(56, 139, 253, 0.18); --drain-edge: #4493f8;
  --c1: #3fb950; --c2: #4493f8; --c3: #f85149; --c4: #ab7df8; --c5: #db6d28; --c6: #9198a1; --c7: #db61a2;
  --c8: #39c5cf;"""

CSS = f"""
:root {{ color-scheme: light dark; {_LIGHT} }}
@media (prefers-color-scheme: dark) {{ :root {{ {_DARK} }} }}
* {{ box-sizing: border-box; }}
body {{ margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }}
main {{ max-width: 1100px; margin: 0 auto; padding: 16px; }}
h1 {{ font-size: 1.5em; margin: 0.2em 0; overflow-wrap: anywhere; }}
h2 {{ font-size: 1.2em; margin: 1.6em 0 0.4em; padding-bottom: 0.2em; border-bottom: 1px solid var(--line); }}
h3 {{ font-size: 1em; margin: 1.1em 0 0.3em; }}
p {{ margin: 0.4em 0; }}
code, pre {{ font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; }}
pre {{ background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 8px; overflow-x: auto;
  white-space: pre-wrap; overflow-wrap: anywhere; }}
.muted {{ color: var(--muted); }}
.pass {{ color: var(--pass); }} .fail {{ color: var(--fail); }} .warn {{ color: var(--warn); }}
.verdict {{ display: inline-block; padding: 2px 10px; border-radius: 999px; font-weight: 700; color: #fff; }}
.verdict.pass {{ background: var(--pass); color: var(--bg); }} .verdict.fail {{ background: var(--fail); color: var(--bg); }}
.banner {{ border: 2px solid var(--warn); border-radius: 6px; padding: 8px 12px; margin: 8px 0; font-weight: 600; }}
nav {{ font-size: 0.9em; margin: 8px 0; }} nav a {{ margin-right: 12px; white-space: nowrap; }}
a {{ color: var(--c2); }}
.cards {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 8px; margin: 12px 0; }}
.card {{ background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }}
.card .value {{ font-size: 1.35em; font-weight: 700; font-variant-numeric: tabular-nums; }}
.card .label {{ font-size: 0.85em; color: var(--muted); }}
.card.bad .value {{ color: var(--fail); }} .card.good .value {{ color: var(--pass); }}
.scroll {{ overflow-x: auto; max-width: 100%; }}
table {{ border-collapse: collapse; margin: 6px 0; font-variant-numeric: tabular-nums; }}
th, td {{ border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }}
th {{ font-weight: 600; white-space: nowrap; }}
td.num, th.num {{ text-align: right; white-space: nowrap; }}
td.wrap {{ overflow-wrap: anywhere; min-width: 5em; }}
figure {{ margin: 10px 0 18px; }}
figcaption {{ font-size: 0.9em; color: var(--muted); margin-bottom: 4px; }}
.grid2 {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 12px; }}
ul.legend {{ list-style: none; padding: 0; margin: 4px 0; display: flex; flex-wrap: wrap; gap: 4px 14px;
  font-size: 0.9em; }}
ul.events {{ padding-left: 1.2em; margin: 4px 0; font-size: 0.92em; }}
.sw {{ display: inline-block; width: 14px; height: 4px; vertical-align: middle; margin-right: 5px; border-radius: 2px; }}
.sw.box {{ height: 12px; border: 1px solid var(--line); }}
.sw.c1 {{ background: var(--c1); }} .sw.c2 {{ background: var(--c2); }} .sw.c3 {{ background: var(--c3); }}
.sw.c4 {{ background: var(--c4); }} .sw.c5 {{ background: var(--c5); }} .sw.c6 {{ background: var(--c6); }}
.sw.c7 {{ background: var(--c7); }} .sw.c8 {{ background: var(--c8); }}
.sw.fault {{ background: var(--fault); border: 1px solid var(--fault-edge); }}
.sw.drain {{ background: var(--drain); border: 1px solid var(--drain-edge); }}
.sw.mark {{ border-top: 2px dashed var(--warn); height: 0; border-radius: 0; }}
.sw.dashed {{ background: none; height: 0; border-radius: 0; border-top: 3px dashed var(--fg); }}
.sw.dashed.c3 {{ border-top-color: var(--c3); }} .sw.dashed.c4 {{ border-top-color: var(--c4); }}
.tag {{ display: inline-block; min-width: 1.6em; padding: 0 4px; border-radius: 3px; text-align: center;
  font-size: 0.85em; font-weight: 600; margin-right: 4px; }}
.tag.fault {{ background: var(--fault); border: 1px solid var(--fault-edge); }}
.tag.drain {{ background: var(--drain); border: 1px solid var(--drain-edge); }}
.tag.mark {{ border: 1px dashed var(--warn); }}
dl.settings {{ display: grid; grid-template-columns: minmax(0, max-content) minmax(0, 1fr); gap: 2px 12px; margin: 4px 0; }}
dl.settings dt {{ color: var(--muted); overflow-wrap: anywhere; }} dl.settings dd {{ margin: 0; overflow-wrap: anywhere; }}
footer {{ margin: 28px 0 8px; font-size: 0.85em; color: var(--muted); }}

svg.chart {{ display: block; width: 100%; height: auto; overflow: visible; }}
svg.chart text {{ font: 12px system-ui, sans-serif; fill: var(--muted); }}
svg.chart .grid line {{ stroke: var(--line); stroke-width: 1; stroke-dasharray: 2 3; }}
svg.chart .axis line, svg.chart line.axis {{ stroke: var(--muted); stroke-width: 1; }}
svg.chart .line {{ fill: none; stroke-width: 1.8; stroke-linejoin: round; }}
svg.chart .line.dashed {{ stroke-dasharray: 5 3; }}
svg.chart .line.c1 {{ stroke: var(--c1); }} svg.chart .line.c2 {{ stroke: var(--c2); }}
svg.chart .line.c3 {{ stroke: var(--c3); }} svg.chart .line.c4 {{ stroke: var(--c4); }}
svg.chart .line.c5 {{ stroke: var(--c5); }} svg.chart .line.c6 {{ stroke: var(--c6); }}
svg.chart .line.c7 {{ stroke: var(--c7); }} svg.chart .line.c8 {{ stroke: var(--c8); }}
svg.chart .c1:not(.line) {{ fill: var(--c1); }} svg.chart .c2:not(.line) {{ fill: var(--c2); }}
svg.chart .c3:not(.line) {{ fill: var(--c3); }} svg.chart .c4:not(.line) {{ fill: var(--c4); }}
svg.chart .c5:not(.line) {{ fill: var(--c5); }} svg.chart .c6:not(.line) {{ fill: var(--c6); }}
svg.chart .c7:not(.line) {{ fill: var(--c7); }} svg.chart .c8:not(.line) {{ fill: var(--c8); }}
svg.chart .area {{ fill-opacity: 0.55; }}
svg.chart .band.fault {{ fill: var(--fault); stroke: var(--fault-edge); stroke-width: 0.8; }}
svg.chart .band.drain {{ fill: var(--drain); stroke: var(--drain-edge); stroke-width: 0.8; }}
svg.chart line.mark {{ stroke: var(--warn); stroke-width: 1.4; stroke-dasharray: 4 3; }}
svg.chart .badge rect {{ fill: var(--bg); stroke: var(--muted); stroke-width: 0.8; }}
svg.chart .badge.fault rect {{ stroke: var(--fault-edge); }} svg.chart .badge.drain rect {{ stroke: var(--drain-edge); }}
svg.chart .badge.mark rect {{ stroke: var(--warn); }}
svg.chart .badge text {{ font-size: 10px; font-weight: 700; fill: var(--fg); }}
svg.chart text.marker {{ font-size: 11px; font-weight: 700; fill: var(--warn); }}
svg.chart.mini {{ height: 56px; }}

/* The trade-off chart is the sweep's own SVG (sweep/chart.py), drawn for a white page: recoloured here. */
.tradeoff svg {{ width: 100%; height: auto; max-width: 760px; display: block; fill: var(--fg); }}
.tradeoff svg > rect:first-of-type {{ fill: transparent; }}
.tradeoff .grid {{ stroke: var(--line); }} .tradeoff .axes {{ stroke: var(--muted); }}
.tradeoff .ticks, .tradeoff [fill="#616161"] {{ fill: var(--muted); }}
.tradeoff [stroke="#212121"] {{ stroke: var(--fg); }}
.tradeoff [fill="#ffffff"] {{ fill: var(--bg); }} .tradeoff [stroke="#ffffff"] {{ stroke: var(--bg); }}

@media (max-width: 640px) {{
  main {{ padding: 10px; }}
  body {{ font-size: 14px; }}
  svg.chart .tick text {{ font-size: 21px; }}
  svg.chart text.marker {{ font-size: 19px; }}
  .cards {{ grid-template-columns: repeat(auto-fill, minmax(120px, 1fr)); }}
}}
@media print {{
  :root {{ {_LIGHT} }}
  body {{ font-size: 11pt; }}
  main {{ max-width: none; padding: 0; }}
  nav {{ display: none; }}
  figure, .card, tr {{ break-inside: avoid; }}
  h2, h3 {{ break-after: avoid; }}
  a {{ color: inherit; text-decoration: none; }}
}}
"""


def esc(text: Any) -> str:
    """Text from the run for HTML: control characters shown (as the text reports do), then escaped."""
    return escape(fmt.clean(text), quote=True)


def esc1(text: Any) -> str:
    """`esc` on one line."""
    return escape(fmt.one_line(text), quote=True)


def page(title: str, body: Iterable[str], *, interrupted: bool = False) -> str:
    """A whole HTML document around `body`; an interrupted run says so in its title."""
    head = f"[interrupted] {title}" if interrupted else title
    # A Content-Security-Policy that allows nothing from anywhere: should a value from the run ever
    # slip through unescaped, the browser still loads and runs nothing.
    csp = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light dark">',
        f'<meta name="generator" content="sinkbench {escape(__version__)}">',
        f"<title>{esc1(head)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
        *body,
        f'<footer>Made by sinkbench {escape(__version__)}. This page is self-contained: it loads nothing '
        "from any network. Reference: docs/html.md, docs/reports.md.</footer>",
        "</main>",
        "</body>",
        "</html>",
        "",
    ])


def table(header: Sequence[str], rows: Iterable[Sequence[str]], *, numeric: Sequence[bool] = (),
          css: str = "") -> str:
    """A table in a sideways-scrolling box. Cells are HTML already (escape them first)."""
    num = list(numeric) + [False] * (len(header) - len(numeric))
    head = "".join(f'<th{" class=num" if n else ""}>{h}</th>' for h, n in zip(header, num))
    body = []
    for row in rows:
        cells = "".join(f'<td class="{"num" if n else "wrap"}">{c}</td>' for c, n in zip(row, num))
        body.append(f"<tr>{cells}</tr>")
    cls = f' class="{css}"' if css else ""
    return f'<div class="scroll"><table{cls}><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def legend(items: Iterable[tuple[str, str]]) -> str:
    """A wrapped legend: (swatch classes, text already escaped)."""
    return '<ul class="legend">' + "".join(f'<li><span class="sw {css}"></span>{text}</li>' for css, text in items) + "</ul>"


def figure(caption: str, svg: str, *, after: str = "") -> str:
    return f"<figure><figcaption>{caption}</figcaption>{svg}{after}</figure>"
