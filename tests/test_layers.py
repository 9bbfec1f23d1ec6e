"""The package's layers, read from its imports (ast, no import runs):

- `kit/` is domain-free: it imports nothing of chasm but `kit` and `config`.
- `sandbox/` is the machine floor under the sandbox domains: `sandbox`, `kit` and `config` only.
- The sandbox domains stack one way: exec, files, gateway and browser on sessions, sessions on workspaces,
  all of them on `sandbox/`; one reaches another only through its public modules (service,
  schemas, exceptions, access), never into its internals.
- No module-level import cycle: `import chasm.app` (or any module first) cannot half-initialise a
  module.
- SQL is written in repository and store modules only (the allow-list below says why each other
  place needs its own).
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from source_ast import parse

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "chasm"

FLOORS = {"kit": {"kit", "config"}, "sandbox": {"sandbox", "kit", "config"}}
SANDBOX_DOMAINS = ("sessions", "exec", "files", "gateway", "workspaces", "browser")
# (importer, imported): the only ways one sandbox domain may use another.
DOWNWARD = {
    ("exec", "sessions"),
    ("files", "sessions"),
    ("gateway", "sessions"),
    ("browser", "sessions"),
    ("sessions", "workspaces"),
}
PUBLIC_MODULES = {"service", "schemas", "exceptions", "access"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "migrations" not in p.parts}


def _imported(module: str, node: ast.Import | ast.ImportFrom, is_package: bool) -> Iterator[str]:
    """The chasm modules an import statement names (`from a import b` counts `a.b` when that is a
    module, else `a`)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names if alias.name.startswith("chasm"))
        return
    base = node.module or ""
    if node.level:
        anchor = module.split(".")
        anchor = anchor if is_package else anchor[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    if not base.startswith("chasm"):
        return
    for alias in node.names:
        yield f"{base}.{alias.name}"


def _imports(path: Path, module: str, *, top_level_only: bool) -> Iterator[tuple[int, str]]:
    tree = parse(path)
    nodes: list[ast.AST] = list(tree.body) if top_level_only else list(ast.walk(tree))
    modules = _modules()
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            for name in _imported(module, node, path.name == "__init__.py"):
                # `from chasm.x import y`: the module chasm.x.y, or the name y of chasm.x.
                yield node.lineno, name if name in modules else name.rpartition(".")[0]


def _all_imports() -> Iterator[tuple[str, int, str]]:
    for module, path in _modules().items():
        for line, name in _imports(path, module, top_level_only=False):
            yield module, line, name


def _domain(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_floors_import_no_domain() -> None:
    wrong = [
        f"{module}:{line} imports {name}"
        for module, line, name in _all_imports()
        if _domain(module) in FLOORS and name != "chasm" and _domain(name) not in FLOORS[_domain(module)]
    ]
    assert not wrong, "\n".join(sorted(set(wrong)))


def test_sandbox_domains_stack_one_way_through_public_modules() -> None:
    wrong = []
    for module, line, name in _all_imports():
        mine, theirs = _domain(module), _domain(name)
        if mine == theirs or mine not in SANDBOX_DOMAINS or theirs not in SANDBOX_DOMAINS:
            continue
        public = name.split(".")[2:3] and name.split(".")[2] in PUBLIC_MODULES
        if (mine, theirs) not in DOWNWARD or not public:
            wrong.append(f"{module}:{line} imports {name}")
    assert not wrong, "\n".join(sorted(set(wrong)))


def test_no_module_level_import_cycle() -> None:
    modules = _modules()
    graph = {
        module: {name for _, name in _imports(path, module, top_level_only=True) if name in modules}
        for module, path in modules.items()
    }
    cycles = [scc for scc in _strongly_connected(graph) if len(scc) > 1]
    assert not cycles, cycles


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    scc = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        scc.append(member)
                        if member == node:
                            break
                    found.append(sorted(scc))
    return found


def test_every_module_imports() -> None:
    for module in _modules():
        importlib.import_module(module)


# Modules that build SQL without being a repository or store, and why.
SQL_ELSEWHERE = {
    "chasm.kit.db": "the engine, migrations and PRAGMAs",
    "chasm.kit.pagination": "pages any repository's query: its window and `count(*)` of the same filters",
    "chasm.cli.doctor": "`SELECT 1`: the probe of the configured database",
    "chasm.sessions.admission": "PostgreSQL's advisory lock that serialises an account's admissions",
    "chasm.search.fts5": "the SQLite FTS5 index: its virtual tables and MATCH queries",
    "chasm.search.pg": "the PostgreSQL tsvector search: GIN matches, ts_rank and ts_headline",
    "chasm.search.query": "compiles a search query into SQL expressions for either engine",
}
SQL_NAMES = {"select", "insert", "update", "delete", "text", "func"}


def _builds_sql(path: Path) -> bool:
    return any(
        isinstance(node, ast.ImportFrom)
        and (node.module or "").startswith("sqlalchemy")
        and any(alias.name in SQL_NAMES for alias in node.names)
        for node in ast.walk(parse(path))
    )


def test_sql_lives_in_repositories() -> None:
    found = set()
    for path in PACKAGE.rglob("*.py"):
        name = _module_name(path)
        leaf = name.rsplit(".", 1)[-1]
        if ".migrations" in name or "repository" in leaf or leaf.startswith("store"):
            continue
        if _builds_sql(path):
            found.add(name)
    assert found - set(SQL_ELSEWHERE) == set(), "SQL outside a repository or store module"
    assert set(SQL_ELSEWHERE) - found == set(), "stale entries in SQL_ELSEWHERE"


def test_every_module_is_under_450_lines() -> None:
    """Issue 10's bound: a module that grows past it is split by topic (migrations excepted)."""
    long = {
        str(path.relative_to(PACKAGE)): lines
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.parts and (lines := len(path.read_text().splitlines())) >= 450
    }
    assert long == {}
