"""The PostgreSQL statements kept per query shape: the shape says all the SQL depends on, and the
parameters carry every word."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import postgresql

from chasm.search.query import parse, to_tsquery, tsquery_params, tsquery_shape

QUERIES = [
    ("let", "done"),
    ('"new green" -hoge', '"map tsx" -yellow'),
    ("main* OR ab*", "need* OR xy*"),
    ("入門* 文章", "中文* 漢字"),
    ("status.md OR -x y", "readme.txt OR -a b"),
]


def _compiled(query_text: str, bound: bool) -> postgresql.base.PGCompiler:
    return to_tsquery(parse(query_text), bound=bound).compile(dialect=postgresql.asyncpg.dialect())  # type: ignore[no-any-return]


@pytest.mark.parametrize(("first", "second"), QUERIES)
def test_one_shape_one_sql_and_the_words_as_parameters(first: str, second: str) -> None:
    assert tsquery_shape(parse(first)) == tsquery_shape(parse(second))
    assert str(_compiled(first, False)) == str(_compiled(second, False))
    for text in (first, second):
        bound = _compiled(text, True).params
        params = tsquery_params(parse(text))
        assert {k: v for k, v in bound.items() if k.startswith("tsq_")} == params
        # Unbound, the words are required parameters: a kept statement needs this search's values.
        unbound = _compiled(text, False).params
        assert all(unbound[name] is None for name in params)


def test_shapes_differ_where_the_sql_does() -> None:
    shapes = {tsquery_shape(parse(q)) for q in ("let", "let*", "le*", '"let go"', "-x let", "a OR b", "a b")}
    assert len(shapes) == 7
