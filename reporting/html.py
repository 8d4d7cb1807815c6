"""HTML building blocks: escaping, tables, embedded figures, notes, "not run yet" boxes, the page.

Every function returns a string of HTML. Text that comes from data (transcripts, file names, table cells)
goes through :func:`esc`; only the page's own markup is written raw. The page needs no script, no network
and no server: CSS is inline and images are ``data:`` URIs.
"""
from __future__ import annotations

import base64
import html
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Sequence

__all__ = ["Section", "esc", "fmt", "figure", "note", "not_run", "page", "table", "PNG_DATA_URI"]

PNG_DATA_URI = "data:image/png;base64,"


@dataclass(frozen=True)
class Section:
    """One report section: its anchor id, its heading, and its body HTML."""

    id: str
    title: str
    body: str


def esc(value: Any) -> str:
    """HTML-escape ``str(value)`` (quotes included)."""
    return html.escape(str(value), quote=True)


def fmt(value: Any, digits: int = 3) -> str:
    """A table cell's text: numbers rounded, intervals as ``[lo, hi]``, None as an em dash (not escaped)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        if value.is_integer() and abs(value) >= 1000:
            return f"{int(value):,}"
        return f"{value:.{digits}f}"
    if isinstance(value, (list, tuple)):
        if len(value) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            return f"[{fmt(float(value[0]), digits)}, {fmt(float(value[1]), digits)}]"
        return ", ".join(fmt(v, digits) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


#: Text cells that read as numbers ("0.633 [0.588, 0.675]", "[0.5, 0.7]", "12.5%", "419 / 690") are
#: right-aligned too.
_NUMERIC_TEXT = re.compile(r"^([+\-−]?[\d.,]+%?(\s*\[[^\]]*\])?(\s*/\s*[\d.,]+%?)?|\[[\d.,\s+\-−]+\])$")


def _is_number(value: Any) -> bool:
    if isinstance(value, str):
        return bool(_NUMERIC_TEXT.match(value.strip()))
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, caption: str | None = None,
          cls: str = "", raw_columns: Sequence[int] = (), num_columns: Sequence[int] = ()) -> str:
    """An HTML table; cells formatted by :func:`fmt` and escaped (except column indexes in ``raw_columns``,
    which hold HTML built by this package). Numeric cells, and every cell of ``num_columns``, are
    right-aligned. Rows shorter than ``columns`` are padded with empty cells."""
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        row = list(row) + [""] * (len(columns) - len(row))
        for k, cell in enumerate(row):
            text = cell if k in raw_columns else esc(fmt(cell))
            numeric = _is_number(cell) or (isinstance(cell, (list, tuple)) and len(cell) > 0
                                           and all(_is_number(v) for v in cell))
            attr = ' class="num"' if numeric or k in num_columns else ""
            cells.append(f"<td{attr}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    klass = f' class="{esc(cls)}"' if cls else ""
    return (f'<div class="table-wrap"><table{klass}>{cap}<thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def figure(png: bytes, alt: str, caption_html: str = "", *, width_px: int | None = None) -> str:
    """An embedded PNG (base64 ``data:`` URI) with a caption (HTML, already escaped by the caller)."""
    data = base64.b64encode(png).decode("ascii")
    style = f' style="max-width:min(100%,{width_px}px)"' if width_px else ""
    cap = f"<figcaption>{caption_html}</figcaption>" if caption_html else ""
    return f'<figure><img src="{PNG_DATA_URI}{data}" alt="{esc(alt)}"{style}>{cap}</figure>'


def note(html_text: str, kind: str = "info") -> str:
    """A highlighted paragraph; ``kind`` is ``info`` or ``warn``. ``html_text`` is HTML (escape data first)."""
    return f'<div class="note {esc(kind)}">{html_text}</div>'


def not_run(what: str, command: str, explanation: str = "", *, box_id: str = "") -> str:
    """The visible box for a piece that has not been produced yet, with the command that produces it."""
    ident = f' id="{esc(box_id)}"' if box_id else ""
    extra = f"<p>{explanation}</p>" if explanation else ""
    return (f'<div class="not-run"{ident}><p><strong>{esc(what)}: not run yet.</strong></p>{extra}'
            f"<p>To produce it:</p><pre><code>{esc(command)}</code></pre></div>")


CSS = """
:root { --ink:#1a202c; --muted:#4a5568; --line:#e2e8f0; --soft:#f7fafc; --accent:#2b6cb0; --warn:#c05621; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.5;
       font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "DejaVu Sans", sans-serif; }
header { background: #1a365d; color: #fff; padding: 28px 0 22px; }
header .wrap, main, nav, footer { max-width: 1120px; margin: 0 auto; padding: 0 24px; }
header h1 { margin: 0 0 4px; font-size: 28px; font-weight: 600; }
header .kicker { margin: 0; opacity: .8; font-size: 13px; letter-spacing: .06em; text-transform: uppercase; }
header .lead { margin: 8px 0 16px; max-width: 900px; font-size: 16px; opacity: .95; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { background: rgba(255,255,255,.1); border: 1px solid rgba(255,255,255,.25); border-radius: 8px;
        padding: 8px 14px; min-width: 118px; }
.card .value { font-size: 22px; font-weight: 600; display: block; }
.card .label { font-size: 12px; opacity: .85; }
nav { margin-top: 18px; }
nav ol { display: flex; flex-wrap: wrap; gap: 6px 18px; list-style: none; padding: 10px 0; margin: 0;
         border-bottom: 1px solid var(--line); }
nav a { color: var(--accent); text-decoration: none; font-weight: 500; }
nav .toc-title { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .06em; margin: 0; }
section { padding: 8px 0 20px; border-bottom: 1px solid var(--line); }
h2 { font-size: 22px; margin: 24px 0 6px; }
h3 { font-size: 16px; margin: 20px 0 6px; }
p.intro { color: var(--muted); margin-top: 0; max-width: 900px; }
figure { margin: 12px 0 18px; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 13.5px; margin-top: 6px; max-width: 900px; }
.table-wrap { overflow-x: auto; margin: 8px 0 16px; }
table { border-collapse: collapse; font-size: 13.5px; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td:first-child { white-space: nowrap; }
table.examples td:last-child { min-width: 320px; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 8px 28px;
         align-items: start; }
.note { border-left: 4px solid var(--accent); background: #ebf8ff; padding: 8px 12px; margin: 10px 0;
        border-radius: 0 4px 4px 0; max-width: 900px; }
.note.warn { border-color: var(--warn); background: #fffaf0; }
.not-run { border: 2px dashed #a0aec0; background: var(--soft); border-radius: 8px; padding: 6px 16px;
           margin: 12px 0; max-width: 900px; }
.not-run p { margin: 8px 0; }
pre { background: #edf2f7; padding: 8px 12px; border-radius: 4px; overflow-x: auto; font-size: 13px;
      white-space: pre-wrap; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
.pos { color: #2b6cb0; font-weight: 600; } .neg { color: #dd6b20; font-weight: 600; }
.abs { color: #718096; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; font-size: 13.5px; }
dl.kv dt { color: var(--muted); } dl.kv dd { margin: 0; word-break: break-all; }
footer { color: var(--muted); font-size: 12.5px; padding: 18px 24px 40px; }
""".strip()


def page(title: str, header_html: str, sections: Sequence[Section], footer_html: str = "") -> str:
    """The whole document: inline CSS, a header, a table of contents, the sections, a footer."""
    toc = "".join(f'<li><a href="#{esc(s.id)}">{k}. {esc(s.title)}</a></li>' for k, s in enumerate(sections, 1))
    body = "\n".join(f'<section id="{esc(s.id)}"><h2>{k}. {esc(s.title)}</h2>\n{s.body}\n</section>'
                     for k, s in enumerate(sections, 1))
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{esc(title)}</title>\n<style>\n{CSS}\n</style>\n</head>\n<body>\n"
            f"<header><div class=\"wrap\">{header_html}</div></header>\n"
            f'<nav><p class="toc-title">Contents</p><ol>{toc}</ol></nav>\n'
            f"<main>\n{body}\n</main>\n<footer>{footer_html}</footer>\n</body>\n</html>\n")
