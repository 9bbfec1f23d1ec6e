"""Writes docs/configuration.md from src/chasm/config.py: every setting, its CHASM_* variable,
its default and the comments written beside it. Run after adding a setting:

    uv run python scripts/config_docs.py

(tests/system/test_config_docs.py fails while a setting is missing from the page.)"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "chasm" / "config.py"
TARGET = ROOT / "docs" / "configuration.md"

HEADER = """# Configuration

Every setting is read from an environment variable `CHASM_<NAME>` or from a TOML file: the one
named by `CHASM_CONFIG`, else `<data dir>/config.toml`, with the settings at the top level or
under a `[chasm]` table (`name = value`, lower case). The environment wins over the file.
Durations end in `_s` (seconds), sizes in `_bytes` (bytes) unless the name says otherwise.

This page is generated from `src/chasm/config.py` by `scripts/config_docs.py`.
"""


def _comment_lines(lines: list[str], start: int) -> list[str]:
    """The `#` lines right above line index `start` (0-based)."""
    found: list[str] = []
    i = start - 1
    while i >= 0 and lines[i].strip().startswith("#"):
        found.insert(0, lines[i].strip().lstrip("#").strip())
        i -= 1
    return found


def render() -> str:
    text = SOURCE.read_text()
    lines = text.splitlines()
    tree = ast.parse(text)
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Settings")
    out = [HEADER]
    for node in cls.body:
        if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name):
            continue
        name = node.target.id
        line = lines[node.lineno - 1]
        above = _comment_lines(lines, node.lineno - 1)
        # A comment block that starts with a short title line (above a blank line) is a section.
        blank_before = node.lineno - 2 - len(above) >= 0 and not lines[node.lineno - 2 - len(above)].strip()
        if blank_before and len(above) == 1 and len(above[0]) < 60 and not above[0].endswith("."):
            out.append(f"\n## {above[0]}\n")
            above = []
        beside = line.split("#", 1)[1].strip() if "#" in line.split("=", 1)[-1] else ""
        default = ast.get_source_segment(text, node.value) if node.value is not None else "(required)"
        kind = ast.get_source_segment(text, node.annotation) or ""
        default = " ".join((default or "").split())
        if name == "data_dir":
            default = "~/.local/share/chasm (the platform's user data dir)"
        if len(default) > 70:
            default = default[:67] + "..."
        note = " ".join([*above, beside]).strip()
        out.append(f"- `CHASM_{name.upper()}` ({kind}, default `{default}`){': ' + note if note else ''}")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    content = render()
    if "--check" in sys.argv:
        sys.exit(0 if TARGET.exists() and TARGET.read_text() == content else 1)
    TARGET.write_text(content)
    print(f"wrote {TARGET.relative_to(ROOT)}")
