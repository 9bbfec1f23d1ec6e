"""A page's accessibility outline for a model, and the element refs it hands out.

`outline(conn)` reads Chromium's accessibility tree (`Accessibility.getFullAXTree`) and writes
it as an indented list, one element a line: its role, its accessible name (what a label, an
aria-label or its text gives it), its states, and a ref, as in

    - heading "Sign in" [level=1] [ref=e12]
    - textbox "Email" [required] [ref=e17]
    - checkbox "Remember me" [checked] [ref=e21]
    - button "Continue" [ref=e25]
    - paragraph [ref=e24]: By continuing you accept the terms.

A ref is `e` and the element's DevTools backend node id: it names that very element for as long
as it is in the page (no second snapshot, no position that shifts when the page changes), and
`resolve(conn, ref)` finds it again (`ref_not_found` once it is gone: take a new snapshot).
Layout-only nodes (ignored, `generic`, `none`, label wrappers) add no line of their own; their
children take their place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from chasm.browser.exceptions import InvalidRef, RefNotFound
from chasm.sandbox.cdp import CdpCallFailed, CdpConnection

REF = re.compile(r"e([1-9][0-9]{0,11})")
# No line of their own: their children are shown in their place.
TRANSPARENT = frozenset({"none", "generic", "presentation", "LabelText", "MenuListPopup", "RootWebArea"})
SKIPPED = frozenset({"InlineTextBox", "ListMarker", "LineBreak"})
TEXT = "StaticText"
# Their children are the editor's insides, not content.
LEAVES = frozenset({"textbox", "searchbox", "spinbutton", "slider", "img", "image"})
# States worth a model's attention, shown when set (`level` always).
STATES = ("checked", "selected", "pressed", "expanded", "disabled", "required", "readonly")
NAME_MAX = 100
TEXT_MAX = 300


@dataclass
class Outline:
    lines: list[str] = field(default_factory=list)
    truncated: bool = False

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _value(node: dict[str, Any], key: str) -> Any:
    item = node.get(key)
    return item.get("value") if isinstance(item, dict) else None


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quoted(text: str) -> str:
    return '"' + _clip(text, NAME_MAX).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _states(node: dict[str, Any]) -> list[str]:
    found: dict[str, Any] = {}
    for prop in node.get("properties") or []:
        found[prop.get("name")] = (prop.get("value") or {}).get("value")
    states = []
    if found.get("level") is not None and _value(node, "role") == "heading":
        states.append(f"level={found['level']}")
    for name in STATES:
        value = found.get(name)
        if value in (True, "true"):
            states.append(name)
        elif value == "mixed":
            states.append(f"{name}=mixed")
        elif name == "expanded" and value in (False, "false"):
            states.append("collapsed")
    return states


class _Writer:
    def __init__(self, nodes: list[dict[str, Any]], max_lines: int) -> None:
        self.nodes = {n["nodeId"]: n for n in nodes}
        self.max_lines = max_lines
        self.out = Outline()

    def add(self, depth: int, line: str) -> bool:
        if len(self.out.lines) >= self.max_lines:
            self.out.truncated = True
            return False
        self.out.lines.append("  " * depth + "- " + line)
        return True

    def children(self, node: dict[str, Any]) -> list[dict[str, Any]]:
        return [self.nodes[c] for c in node.get("childIds") or [] if c in self.nodes]

    def text_of(self, nodes: list[dict[str, Any]]) -> str:
        return "".join(str(_value(n, "name") or "") for n in nodes)

    def write(self, nodes: list[dict[str, Any]], depth: int, parent_name: str = "") -> None:
        run: list[dict[str, Any]] = []  # consecutive text, written as one line
        for node in nodes:
            role = str(_value(node, "role") or "")
            if role == TEXT:
                run.append(node)
                continue
            self.flush(run, depth, parent_name)
            run = []
            if role in SKIPPED:
                continue
            if node.get("ignored") or role in TRANSPARENT:
                self.write(self.children(node), depth, parent_name)
            else:
                self.element(node, role, depth)
            if self.out.truncated:
                return
        self.flush(run, depth, parent_name)

    def flush(self, run: list[dict[str, Any]], depth: int, parent_name: str) -> None:
        text = " ".join(self.text_of(run).split())
        if text and text != " ".join(parent_name.split()):
            self.add(depth, "text: " + _clip(text, TEXT_MAX))

    def element(self, node: dict[str, Any], role: str, depth: int) -> None:
        name = str(_value(node, "name") or "")
        line = role + (" " + _quoted(name) if name.strip() else "")
        value = _value(node, "value")
        if value not in (None, "") and role not in ("link",):
            line += f" value={_quoted(str(value))}"
        line += "".join(f" [{s}]" for s in _states(node))
        backend = node.get("backendDOMNodeId")
        if backend:
            line += f" [ref=e{backend}]"
        kids = [] if role in LEAVES else self.children(node)
        # An element whose content is only text reads on one line: `- paragraph: Some text`.
        if kids and all(_value(k, "role") in (TEXT, *SKIPPED) for k in kids):
            text = " ".join(self.text_of(kids).split())
            if text and text != " ".join(name.split()):
                line += ": " + _clip(text, TEXT_MAX)
            kids = []
        if self.add(depth, line):
            self.write(kids, depth + 1, name)


async def outline(conn: CdpConnection, *, max_lines: int = 500) -> Outline:
    """The page's accessibility outline, at most `max_lines` lines (`truncated` then)."""
    tree = await conn.call("Accessibility.getFullAXTree")
    nodes: list[dict[str, Any]] = tree.get("nodes") or []
    if not nodes:
        return Outline()
    writer = _Writer(nodes, max_lines)
    roots = [n for n in nodes if not n.get("parentId")] or nodes[:1]
    writer.write(roots, 0)
    return writer.out


async def resolve(conn: CdpConnection, ref: str) -> str:
    """The page's JavaScript object of the element `ref` names (its `objectId`)."""
    found = REF.fullmatch(ref.strip())
    if found is None:
        raise InvalidRef(f"{ref[:50]!r} is not a ref from a snapshot (they look like e42)")
    try:
        answer = await conn.call("DOM.resolveNode", {"backendNodeId": int(found.group(1))})
    except CdpCallFailed:
        raise RefNotFound(f"The page has no element {ref} any more: take a new snapshot") from None
    object_id: str = answer["object"]["objectId"]
    return object_id
