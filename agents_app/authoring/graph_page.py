"""The agent graph as one self-contained HTML page: an SVG drawing, a table, the Mermaid text.

Mermaid itself is a browser script that is not available offline, so the drawing is laid
out here: agents in columns by handoff distance from the start agent (left to right, like
the Mermaid flowchart), tools as pills on their agent, hand-backs as arcs above.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from agents_app.authoring.mermaid import GraphShape

_COL_W, _NODE_W, _GAP_Y, _TOP, _LEFT = 250, 190, 40, 90, 40
_HEAD_H, _TOOL_H = 50, 22


@dataclass(frozen=True, slots=True)
class _Box:
    x: int
    y: int
    h: int


def _columns(shape: GraphShape) -> list[list[str]]:
    depth = {shape.start: 0}
    for agent_id in shape.reachable:  # breadth-first order: parents come first
        for target in shape.handoffs.get(agent_id, ()):
            if target in shape.names:
                depth.setdefault(target, depth[agent_id] + 1)
    last = max(depth.values(), default=0) + 1
    columns: list[list[str]] = [[] for _ in range(last + 1)]
    for agent_id in shape.names:  # YAML order within a column
        columns[depth.get(agent_id, last)].append(agent_id)
    return [c for c in columns if c]


def _layout(shape: GraphShape) -> tuple[dict[str, _Box], int, int]:
    boxes: dict[str, _Box] = {}
    height = 0
    columns = _columns(shape)
    for col, ids in enumerate(columns):
        y = _TOP
        for agent_id in ids:
            pills = len(shape.tools.get(agent_id, ())) + len(shape.mcp.get(agent_id, ()))
            h = _HEAD_H + _TOOL_H * pills
            boxes[agent_id] = _Box(_LEFT + col * _COL_W, y, h)
            y += h + _GAP_Y
        height = max(height, y)
    return boxes, _LEFT * 2 + (len(columns) - 1) * _COL_W + _NODE_W, height + 10


def _forward(a: _Box, b: _Box, both: bool) -> str:
    """Right side of ``a`` to left side of ``b``; ``both``: a handoff each way, one line."""
    x1, y1, x2, y2 = a.x + _NODE_W, a.y + _HEAD_H // 2, b.x, b.y + _HEAD_H // 2
    mid = (x1 + x2) // 2
    cls = "fwd both" if both else "fwd"
    return f'<path class="{cls}" d="M{x1 + 2},{y1} C{mid},{y1} {mid},{y2} {x2 - 2},{y2}"/>'


def _back(a: _Box, b: _Box, lane: int) -> str:
    """Back or sideways: out to the gap left of ``a``, over the top of every node, into ``b``.

    Each such edge gets its own lane so parallel ones stay apart.
    """
    gap_x = a.x - 14 - 7 * lane
    top = _TOP - 30 - 8 * lane
    y1, x2 = a.y + _HEAD_H // 2, b.x + _NODE_W // 2 + 8 * lane
    return (
        f'<path class="back" d="M{a.x - 2},{y1} L{gap_x},{y1} L{gap_x},{top} '
        f'L{x2},{top} L{x2},{b.y - 2}"/>'
    )


def _edges(shape: GraphShape, boxes: dict[str, _Box]) -> list[str]:
    pairs = {(a, t) for a, ts in shape.handoffs.items() for t in ts if t in boxes}
    out: list[str] = []
    lane = 0
    for a, t in sorted(pairs, key=lambda e: (boxes[e[0]].x, boxes[e[0]].y, boxes[e[1]].y)):
        forward = boxes[t].x > boxes[a].x
        if forward:
            out.append(_forward(boxes[a], boxes[t], both=(t, a) in pairs))
        elif (t, a) not in pairs or boxes[t].x == boxes[a].x:
            out.append(_back(boxes[a], boxes[t], lane))
            lane += 1
    return out


def _node(agent_id: str, box: _Box, shape: GraphShape) -> str:
    classes = "node"
    if agent_id == shape.start:
        classes += " start"
    if agent_id not in shape.reachable:
        classes += " lost"
    name = shape.names[agent_id]
    title = escape(shape.descriptions.get(agent_id) or "(no description)")
    parts = [
        f'<g class="{classes}"><title>{title}</title>',
        f'<rect x="{box.x}" y="{box.y}" width="{_NODE_W}" height="{box.h}" rx="8"/>',
        f'<text x="{box.x + 12}" y="{box.y + 22}" class="name">{escape(name)}</text>',
        f'<text x="{box.x + 12}" y="{box.y + 40}" class="id">{escape(agent_id)}</text>',
    ]
    for i, tool in enumerate(shape.tools.get(agent_id, ())):
        ty = box.y + _HEAD_H + i * _TOOL_H
        parts.append(
            f'<rect class="tool" x="{box.x + 10}" y="{ty}" width="{_NODE_W - 20}" '
            f'height="{_TOOL_H - 4}" rx="9"/>'
            f'<text x="{box.x + 20}" y="{ty + 13}" class="toolname">tool: {escape(tool)}'
            f"{' ✋' if shape.asks(agent_id, tool) else ''}</text>"
        )
    tools = len(shape.tools.get(agent_id, ()))
    for i, server in enumerate(shape.mcp.get(agent_id, ()), start=tools):
        ty = box.y + _HEAD_H + i * _TOOL_H
        view = shape.mcp_servers.get(server)
        count = f" ({len(view.tools)} tools)" if view and view.tools else ""
        parts.append(
            f'<rect class="mcp" x="{box.x + 10}" y="{ty}" width="{_NODE_W - 20}" '
            f'height="{_TOOL_H - 4}" rx="9"/>'
            f'<text x="{box.x + 20}" y="{ty + 13}" class="toolname">mcp: {escape(server)}'
            f"{escape(count)}</text>"
        )
    parts.append("</g>")
    return "".join(parts)


def graph_svg(shape: GraphShape) -> str:
    boxes, width, height = _layout(shape)
    start = boxes[shape.start]
    body = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="agent graph">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/>'
        "</marker></defs>",
        f'<text x="{start.x}" y="{start.y - 12}" class="startlabel">▶ start</text>',
    ]
    body.extend(_edges(shape, boxes))
    body.extend(_node(agent_id, box, shape) for agent_id, box in boxes.items())
    body.append("</svg>")
    return "".join(body)


def _tool(shape: GraphShape, agent_id: str, tool: str) -> str:
    when = shape.asks(agent_id, tool)
    return escape(tool) + (f" (✋ needs approval {escape(when)})" if when else "")


def _table(shape: GraphShape) -> str:
    rows = []
    for agent_id, name in shape.names.items():
        marks = " (start)" if agent_id == shape.start else ""
        reach = "yes" if agent_id in shape.reachable else "<strong>no</strong>"
        rows.append(
            "<tr>"
            f"<td><code>{escape(agent_id)}</code>{marks}</td><td>{escape(name)}</td>"
            f"<td>{', '.join(escape(t) for t in shape.handoffs[agent_id]) or '—'}</td>"
            f"<td>{', '.join(_tool(shape, agent_id, t) for t in shape.tools[agent_id]) or '—'}</td>"
            f"<td>{', '.join(escape(s) for s in shape.mcp.get(agent_id, ())) or '—'}</td>"
            f"<td>{reach}</td><td>{escape(shape.descriptions[agent_id]) or '—'}</td>"
            "</tr>"
        )
    head = (
        "<tr><th>id</th><th>name</th><th>hands off to</th><th>tools</th><th>MCP servers</th>"
        "<th>reachable</th><th>description</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def _guardrails(shape: GraphShape) -> str:
    if not shape.guardrails:
        return "<h2>Guardrails</h2><p>None.</p>"
    rows = [
        "<tr>"
        f"<td><code>{escape(g.name)}</code></td><td>{escape(g.kind)}</td>"
        f"<td>{escape(g.checks)}</td>"
        f"<td>{', '.join(escape(u) for u in g.used_by) or '<strong>unused</strong>'}</td>"
        f"<td>{escape(g.how)}</td><td>{escape(g.description) or '—'}</td>"
        "</tr>"
        for g in shape.guardrails
    ]
    head = (
        "<tr><th>name</th><th>kind</th><th>trips when</th><th>checks</th><th>how</th>"
        "<th>description</th></tr>"
    )
    return f"<h2>Guardrails</h2><table>{head}{''.join(rows)}</table>"


def _mcp_table(shape: GraphShape) -> str:
    if not shape.mcp_servers:
        return ""
    rows = "".join(
        f"<tr><td><code>{escape(name)}</code></td><td>{escape(view.transport)}</td>"
        f"<td><code>{escape(view.target)}</code></td>"
        f"<td>{', '.join(escape(t) for t in view.tools) or '—'}</td>"
        f"<td>{escape(view.status)}</td></tr>"
        for name, view in shape.mcp_servers.items()
    )
    head = "<tr><th>name</th><th>transport</th><th>where</th><th>tools</th><th>status</th></tr>"
    return f"<h2>MCP servers</h2><table>{head}{rows}</table>"


_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
svg{border:1px solid #ddd;border-radius:8px;background:#fcfcfc;max-width:100%;height:auto}
.node rect{fill:#eef3fb;stroke:#4a6fa5;stroke-width:1.5}
.node.start>rect{fill:#fff3c4;stroke:#b58900;stroke-width:3}
.node.lost>rect{fill:#f4f4f4;stroke:#999;stroke-dasharray:4 3}
rect.tool{fill:#eef6ee;stroke:#4c8c4a;stroke-width:1}
rect.mcp{fill:#f3eefb;stroke:#6a4ca5;stroke-width:1}
.name{font-weight:600;font-size:14px}.id,.toolname{font:12px ui-monospace,monospace;fill:#555}
.startlabel{font-size:12px;fill:#b58900;font-weight:600}
path.fwd,path.back{fill:none;stroke:#4a6fa5;stroke-width:1.5;marker-end:url(#arrow)}
path.both{marker-start:url(#arrow)}
path.back{stroke:#8a6d3b;stroke-dasharray:5 4;stroke-linejoin:round}
marker path{fill:#4a6fa5}
table{border-collapse:collapse;margin:16px 0}td,th{border:1px solid #ddd;padding:4px 8px;
text-align:left;vertical-align:top}pre{background:#f6f8fa;padding:12px;border-radius:6px;
overflow:auto}.legend{color:#555;font-size:13px}
"""


def graph_page(
    shape: GraphShape, *, source: str, mermaid: str, mermaid_href: str = "?format=mermaid"
) -> str:
    """The whole page; every dynamic string is HTML-escaped."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Agent graph — {escape(source)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>Agent graph</h1><p>From <code>{escape(source)}</code>; start agent "
        f"<code>{escape(shape.start)}</code>. Reload the page after editing the config.</p>"
        f"{graph_svg(shape)}"
        '<p class="legend">Solid arrows: handoffs away from the start (two heads: each way); '
        "dashed lines over the top: handoffs back or sideways. Yellow: the start agent; grey "
        "dashed box: unreachable from the start. Hover an agent for its description.</p>"
        f"<h2>Agents</h2>{_table(shape)}{_guardrails(shape)}{_mcp_table(shape)}"
        "<h2>Mermaid</h2><p>Paste into a <code>```mermaid</code> block (GitHub, GitLab) or "
        f'mermaid.live; plain text at <a href="{escape(mermaid_href)}">?format=mermaid</a>.</p>'
        f"<pre>{escape(mermaid)}</pre></body></html>"
    )
