"""The prose in docs/ and README.md names real things: every `CHASM_*` variable is a setting or one
the code reads, and every repository path in backticks exists (docs/configuration.md itself is
generated and checked in tests/system/test_config_docs.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chasm.config import Settings

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
# docs/decisions.md is a log: it may name a module or path as it was when a decision removed it.
CURRENT = [page for page in PAGES if page.name != "decisions.md"]
# Where the code reads or sets a variable: a string literal that is exactly its name
# (os.environ["CHASM_URL"], envvar="CHASM_API_KEY", the variables a sandbox is given), or a
# shell expansion (`${CHASM_TEST_PARALLEL:-}`).
CODE = ["src", "scripts", "bench", "tests", ".ci", "Makefile"]
VARIABLE = re.compile(r"\bCHASM_[A-Z0-9_]*[A-Z0-9]\b")
LITERAL = re.compile(r"""["'](CHASM_[A-Z0-9_]*[A-Z0-9])["']|\$\{?(CHASM_[A-Z0-9_]*[A-Z0-9])\b""")
# A path in backticks under one of the repository's top folders; placeholders (`<domain>`,
# `*.py`, `{a,b}`, `...`) are prose, not paths.
PATH = re.compile(r"`((?:src|tests|bench|scripts|web|docs)/[^`\s]*)`")
PLACEHOLDER = re.compile(r"[<>*{}]|\.\.\.")
# A module named by its place in the package (`sandbox/drivers/base.py`, `kit/db.py`).
MODULE = re.compile(r"`([a-z_]+/[a-z_/]*[a-z_]+\.py)`")
PACKAGE = ROOT / "src" / "chasm"


def _code_files() -> list[Path]:
    files: list[Path] = []
    for name in CODE:
        path = ROOT / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += [p for p in path.rglob("*") if p.is_file() and p.suffix in {".py", ".sh", ""}]
    return [p for p in files if p.resolve() != Path(__file__).resolve() and "node_modules" not in p.parts]


def _known_variables() -> set[str]:
    known = {f"CHASM_{name.upper()}" for name in Settings.model_fields}
    for path in _code_files():
        try:
            found = LITERAL.findall(path.read_text(errors="replace"))
        except OSError:
            continue
        known.update(name for pair in found for name in pair if name)
    return known


def _named(pattern: re.Pattern[str], pages: list[Path] = PAGES) -> list[tuple[str, str]]:
    """(page:line, what) for every match of `pattern` in the pages."""
    found = []
    for page in pages:
        for number, line in enumerate(page.read_text().splitlines(), 1):
            found += [(f"{page.relative_to(ROOT)}:{number}", m) for m in pattern.findall(line)]
    return found


def test_every_variable_named_in_the_docs_is_read_by_the_code() -> None:
    known = _known_variables()
    unknown = [(where, name) for where, name in _named(VARIABLE) if name not in known]
    assert not unknown, f"variables no setting or code reads: {unknown}"


def test_every_repository_path_named_in_the_docs_exists() -> None:
    missing = [
        (where, path)
        for where, path in _named(PATH, CURRENT)
        if not PLACEHOLDER.search(path) and not (ROOT / path.rstrip("/").split("::")[0]).exists()
    ]
    assert not missing, f"paths that do not exist: {missing}"


def test_every_module_named_in_the_docs_exists() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir()}
    missing = [
        (where, module)
        for where, module in _named(MODULE, CURRENT)
        if module.split("/")[0] in packages and not (PACKAGE / module).exists()
    ]
    assert not missing, f"modules that are not under src/chasm/: {missing}"


@pytest.mark.parametrize("page", ["architecture.md"])
def test_the_architecture_names_every_package(page: str) -> None:
    """Each package under src/chasm appears in the architecture page (`name/`)."""
    text = (ROOT / "docs" / page).read_text()
    packages = sorted(
        p.name for p in (ROOT / "src" / "chasm").iterdir() if p.is_dir() and (p / "__init__.py").exists()
    )
    absent = [name for name in packages if f"{name}/" not in text]
    assert not absent, f"packages under src/chasm/ that docs/{page} does not describe: {absent}"
