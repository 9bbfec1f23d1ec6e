"""The user's search syntax, parsed once and rendered safely for each database.

Syntax: words (all must match), "exact phrases", `OR` between alternatives, `-word` / `-"phrase"`
to exclude, `word*` for a prefix. Everything else is text: nothing the user types reaches the
database as query syntax, so a query can be empty of terms (400) but never malformed (500).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, String, func, literal_column
from sqlalchemy.sql.expression import BindParameter, bindparam

from chasm.kit import cjk
from chasm.search.exceptions import InvalidQuery

MAX_QUERY_CHARS = 1000
MAX_TERMS = 32
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
# PostgreSQL's text search configuration (migration 0014): Porter stems, no stop words, as FTS5.
PG_CONFIG = "chasm_fts"
_WORD = re.compile(r"[^\W_]+")  # the tokenizers of both databases split on "_"


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]  # one word, or the words of a phrase
    prefix: bool = False
    negated: bool = False


@dataclass
class Query:
    """An OR of conjunctions; each conjunction needs at least one positive term."""

    groups: list[list[Term]] = field(default_factory=list)

    @property
    def terms(self) -> list[Term]:
        return [t for g in self.groups for t in g]


def parse(text: str) -> Query:
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidQuery(f"Search query is longer than {MAX_QUERY_CHARS} characters")
    groups: list[list[Term]] = [[]]
    for match in _TOKEN.finditer(text):
        negated_phrase, phrase, bare = match.groups()
        if bare is not None:
            if bare == "OR":
                groups.append([])
                continue
            negated = bare.startswith("-") and len(bare) > 1
            body = bare[1:] if negated else bare
            prefix = body.endswith("*")
            words = tuple(_WORD.findall(body))
            if words:
                groups[-1].append(Term(words, prefix=prefix and len(words) == 1, negated=negated))
            continue
        words = tuple(_WORD.findall(phrase))
        if words:
            groups[-1].append(Term(words, negated=bool(negated_phrase)))
    groups = [g for g in groups if g]
    if not groups:
        raise InvalidQuery("Search query contains no searchable words")
    for group in groups:
        if not any(not t.negated for t in group):
            raise InvalidQuery("An exclusion (-word) needs at least one word to search for beside it")
    query = Query(groups)
    if len(query.terms) > MAX_TERMS:
        raise InvalidQuery(f"Search query has more than {MAX_TERMS} terms")
    return query


def index_words(term: Term) -> list[str]:
    """The term's words as the index holds them: a CJK character is a word of its own (`kit.cjk`),
    so `文章` is the phrase `文` `章`, found wherever it is a substring."""
    return [token for word in term.words for token in cjk.tokens(word)]


def is_phrase(term: Term) -> bool:
    """More than one index word (a quoted phrase, `status.md`, a CJK word)."""
    return len(term.words) > 1 or any(cjk.has_cjk(w) for w in term.words)


def _fts5_term(term: Term) -> str:
    quoted = '"' + " ".join(index_words(term)).replace('"', '""') + '"'
    return quoted + "*" if term.prefix else quoted


# The index columns a MATCH reads for each tool mode (None: all of them).
_FTS5_COLUMNS = {"include": None, "exclude": "content", "only": "tool_text"}


def to_fts5(query: Query, tools: str = "include") -> str:
    """An FTS5 MATCH string in which every user word is a quoted string; `tools` (see
    `types.TOOL_MODES`) limits it to the message text or to the tool text."""
    column = _FTS5_COLUMNS[tools]
    if column is not None:
        return f"{{{column}}} : ({to_fts5(query)})"
    rendered = []
    for group in query.groups:
        positives = " AND ".join(_fts5_term(t) for t in group if not t.negated)
        negatives = "".join(f" NOT {_fts5_term(t)}" for t in group if t.negated)
        rendered.append(f"({positives}{negatives})")
    return " OR ".join(rendered)


def _term_plan(term: Term) -> tuple[str, tuple[str, ...]]:
    """How `to_tsquery` spells a term (its kind) and the values it binds, in their order."""
    if term.prefix:
        # Prefixes are stemmed as FTS5 stems them: not under three letters. Of a CJK word
        # (`入門*`: `入` then `門*`) only the last index word is a prefix, as in FTS5.
        *head, word = index_words(term)
        kind = "prefix" if len(word) >= 3 else "short-prefix"
        return (kind + "-after", (word, " ".join(head))) if head else (kind, (word,))
    if is_phrase(term):
        return "phrase", (" ".join(term.words),)
    return "word", (term.words[0],)


def tsquery_shape(query: Query) -> tuple[tuple[tuple[str, bool], ...], ...]:
    """What `to_tsquery`'s SQL depends on: two queries of one shape differ only in the values of
    `tsquery_params`."""
    return tuple(tuple((_term_plan(t)[0], t.negated) for t in group) for group in query.groups)


def tsquery_params(query: Query) -> dict[str, str]:
    """The values of `to_tsquery`'s bound parameters, by name."""
    values = [v for t in query.terms for v in _term_plan(t)[1]]
    return {f"tsq_{i}": value for i, value in enumerate(values)}


def to_tsquery(query: Query, config: str = PG_CONFIG, bound: bool = True) -> ColumnElement[Any]:
    """A PostgreSQL tsquery expression built from bound parameters only. Not `bound`: the
    parameters hold no values, and executing it needs `tsquery_params` (a statement kept for
    every query of its shape)."""
    cfg: ColumnElement[Any] = literal_column(f"'{config}'::regconfig")
    counter = iter(range(MAX_TERMS * 2))

    def param(value: str) -> BindParameter[str]:
        name = f"tsq_{next(counter)}"
        return bindparam(name, value) if bound else bindparam(name, type_=String, required=True)

    def term_query(term: Term) -> ColumnElement[Any]:
        # The words are spelt as the index's text is (migrations 0014 and 0020).
        kind, values = _term_plan(term)
        if kind.startswith(("prefix", "short-prefix")):
            prefix_cfg = cfg if kind.startswith("prefix") else literal_column("'simple'::regconfig")
            last = func.to_tsquery(prefix_cfg, func.chasm_fts_fold(param(values[0])).concat(":*"))
            if len(values) == 1:
                return last
            first = func.phraseto_tsquery(cfg, func.chasm_fts_text(param(values[1])))
            return func.tsquery_phrase(first, last)
        if kind == "phrase":
            return func.phraseto_tsquery(cfg, func.chasm_fts_text(param(values[0])))
        return func.plainto_tsquery(cfg, func.chasm_fts_text(param(values[0])))

    result: ColumnElement[Any] | None = None
    for group in query.groups:
        conjunction: ColumnElement[Any] | None = None
        for term in group:
            part = term_query(term)
            if term.negated:
                part = func.tsquery_not(part)
            conjunction = part if conjunction is None else func.tsquery_and(conjunction, part)
        assert conjunction is not None
        result = conjunction if result is None else func.tsquery_or(result, conjunction)
    assert result is not None
    return result
