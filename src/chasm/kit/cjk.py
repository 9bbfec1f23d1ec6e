"""CJK text for the full-text indexes: every Chinese, Japanese or Korean character its own token.

Both databases' tokenizers (SQLite's unicode61, PostgreSQL's default parser) read a run of CJK
characters between spaces or punctuation as one word, so `文章` was not found inside
`日本語の文章を検索する`. Here each CJK character is set apart by SEPARATOR (U+001F, which both
tokenizers read as a blank) before the text is indexed, and a query's CJK word becomes the phrase
of its characters: a phrase of single characters matches exactly where the word is a substring,
as Lucene's standard tokenizer does with ideographs. Text outside these ranges is left as it was.

The same function exists in both databases (migration 0020): `chasm_cjk(text)`, a Python function
registered on every SQLite connection (`kit.db`) and an SQL function on PostgreSQL. The snippets
are cut from the separated text, so `unmark` takes the separators out again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

SEPARATOR = "\x1f"
SQL_FUNCTION = "chasm_cjk"

# Letters (and ideographic number signs) of the CJK scripts, by code point. Punctuation and
# symbols (、。「」・, radicals) are not here: both tokenizers already read them as blanks.
RANGES = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3041, 0x3096),  # Hiragana
    (0x309D, 0x309F),  # ゝ ゞ ゟ
    (0x30A1, 0x30FA),  # Katakana
    (0x30FC, 0x30FF),  # ー ヽ ヾ ヿ
    (0x3105, 0x312F),  # Bopomofo
    (0x3131, 0x318E),  # Hangul compatibility Jamo
    (0x31A0, 0x31BF),  # Bopomofo extended
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK unified ideographs extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA960, 0xA97F),  # Hangul Jamo extended A
    (0xAC00, 0xD7A3),  # Hangul syllables
    (0xD7B0, 0xD7FF),  # Hangul Jamo extended B
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # halfwidth Katakana
    (0xFFA0, 0xFFDC),  # halfwidth Hangul
    (0x20000, 0x3134F),  # CJK unified ideographs extensions B to G, compatibility supplement
)


def _escape(code: int) -> str:
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


# The character class, as Python's and PostgreSQL's regular expressions both spell it.
CLASS = "[" + "".join(f"{_escape(a)}-{_escape(b)}" for a, b in RANGES) + "]"
_CJK = re.compile(CLASS)
_RUNS = re.compile(CLASS + "+")
_MARKED = SEPARATOR + r"\g<0>" + SEPARATOR


# The first bytes of these characters in UTF-8 (U+1xxx, U+3000-U+DFFF, U+Fxxx, U+20000-U+3FFFF):
# deleting every other byte (bytes.translate, C speed) tells in a few times less than the regular
# expression takes whether the text may hold one; the expression runs only then. Typographic
# quotes, dashes and arrows (U+2xxx, lead byte E2) do not count.
_NOT_LEADS = bytes(b for b in range(256) if b not in (0xE1, *range(0xE3, 0xEE), 0xEF, 0xF0))


def separate(text: str | None) -> str | None:
    """The text with each CJK character between two SEPARATORs (unchanged without CJK). The
    harvest calls it (through the index triggers) for every message, so text without CJK returns
    after a byte scan."""
    if text is None or text.isascii():
        return text
    if not text.encode("utf-8", "surrogatepass").translate(None, _NOT_LEADS):
        return text
    return _CJK.sub(_MARKED, text)


def has_cjk(text: str) -> bool:
    return not text.isascii() and _CJK.search(text) is not None


def tokens(word: str) -> list[str]:
    """The index tokens of a query word: `Python入門` is `Python`, `入`, `門`."""
    separated = separate(word) or ""
    return [t for t in separated.split(SEPARATOR) if t]


def runs(words: Iterable[str]) -> tuple[str, ...]:
    """The runs of CJK characters in the words (`Python入門` holds `入門`)."""
    return tuple(run for word in words for run in _RUNS.findall(word))


def unmark(snippet: str, mark_start: str, mark_end: str, query_runs: Iterable[str] = ()) -> str:
    """A snippet cut from separated text, as the original reads: the separators out, and the
    highlights of neighbouring characters (`文` `章`, marked one by one) joined into one (`文章`).
    PostgreSQL's headline also marks a phrase's characters where they stand alone (`全文` for
    `文章`): a highlight of CJK text holding none of `query_runs` (given) loses its marks."""
    if SEPARATOR not in snippet:
        return snippet
    text = snippet.replace(SEPARATOR, "").replace(mark_end + mark_start, "")
    wanted = tuple(query_runs)
    if not wanted:
        return text

    def keep(match: re.Match[str]) -> str:
        inner = match.group(1)
        if _RUNS.fullmatch(inner) and not any(run in inner for run in wanted):
            return inner
        return match.group(0)

    span = re.escape(mark_start) + "([^" + re.escape(mark_start + mark_end) + "]*)" + re.escape(mark_end)
    return re.sub(span, keep, text)


def register_sqlite(dbapi_conn: Any) -> None:
    """`chasm_cjk(text)` on an SQLite connection (sqlite3, or SQLAlchemy's aiosqlite adapter): the
    index triggers and the views the FTS5 tables read call it (migration 0020)."""
    dbapi_conn.create_function(SQL_FUNCTION, 1, separate, deterministic=True)
