"""Copy and paste of network fragments: the selected nodes and the edges among them, as the
same JSON a network file uses (so a fragment can also be pasted into a text editor)."""
from __future__ import annotations

import json

from PySide6.QtCore import QByteArray, QMimeData

import engine

NODES_MIME = "application/x-layerwise-nodes"


def fragment(spec: engine.NetworkSpec, node_ids) -> engine.NetworkSpec:
    chosen = [n for n in spec.nodes if n in set(node_ids)]
    part = engine.NetworkSpec()
    for node_id in chosen:
        node = spec.nodes[node_id]
        part.nodes[node_id] = engine.Node(node.id, node.kind, dict(node.params), node.position)
    part.edges = [e for e in spec.edges if e[0] in part.nodes and e[1] in part.nodes]
    return part


def to_mime(part: engine.NetworkSpec) -> QMimeData:
    text = json.dumps(part.to_dict(), indent=1)
    mime = QMimeData()
    mime.setData(NODES_MIME, QByteArray(text.encode("utf-8")))
    mime.setText(text)
    return mime


def from_mime(mime: QMimeData | None) -> engine.NetworkSpec | None:
    """The fragment on the clipboard, or None if there is none (or it is not valid)."""
    if mime is None:
        return None
    if mime.hasFormat(NODES_MIME):
        text = bytes(mime.data(NODES_MIME)).decode("utf-8", "replace")
    elif mime.hasText() and mime.text().lstrip().startswith("{"):
        text = mime.text()
    else:
        return None
    try:
        part = engine.NetworkSpec.from_dict(json.loads(text))
    except (ValueError, engine.SpecError):
        return None
    return part if part.nodes else None
