"""Parsing the package's own sources for the structure tests."""

from __future__ import annotations

import ast
from pathlib import Path


def parse(path: Path) -> ast.Module:
    """ast.parse, tried twice: CPython 3.11's AST constructor can raise a spurious "recursion depth
    mismatch" SystemError when other threads run (python/cpython#106905)."""
    try:
        return ast.parse(path.read_text(), str(path))
    except SystemError:
        return ast.parse(path.read_text(), str(path))
