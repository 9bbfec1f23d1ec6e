"""search parity: PostgreSQL tokenises chat text as SQLite's FTS5 index does

SQLite's index (`porter unicode61`) splits words on every character that is not a letter or a digit
(`status.md` is `status` + `md`, `snake_case` is `snake` + `case`), stems with the original Porter
algorithm and drops no stop words. PostgreSQL's `english` configuration kept file names, paths,
URLs, e-mail addresses and versions as single tokens (`myapp/hoge.py`), stemmed with Porter2 and
dropped stop words, so the same query found other chats there (or none: `hoge`, `status.md`).

Here PostgreSQL gets the same rules: `chasm_fts_text()` turns every ASCII punctuation character
into a space before parsing (its parser already separates words at non-ASCII punctuation, as
unicode61 does) and folds Latin letters with diacritics to their base letter (`remove_diacritics`);
two-letter words ending in `s` get two zeros (`is00`) so that the stemmer keeps them whole, as
SQLite's does with every word under three letters (`chasm_fts_fold()` only folds: prefixes); and the `chasm_fts` configuration stems every word with Snowball's `porter`
stemmer (the original algorithm, as SQLite's) and keeps stop words. The vectors of messages (content
weight A, tool text weight D) and titles are rebuilt with them. SQLite is unchanged.

Revision ID: 0014_search_parity
Revises: 0012_chat_titles_toolsearch
Create Date: 2026-12-06 06:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014_search_parity"
down_revision: str | Sequence[str] | None = "0012_chat_titles_toolsearch"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every ASCII character that is neither a letter nor a digit (frozen here; see search/repository.py).
PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
# Latin letters with diacritics and their base letter: unicode61's `remove_diacritics 2` folds them.
ACCENTED = (
    "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆć"
    "ĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŃńŅņŇňŌōŎŏŐőŔŕ"
    "ŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžƠơƯưǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟ"
    "ǦǧǨǩǪǫǬǭǰǴǵǸǹǺǻȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳ"
)
UNACCENTED = (
    "AAAAAACEEEEIIIINOOOOOUUUUYaaaaaaceeeeiiiinooooouuuuyyAaAaAaCc"
    "CcCcCcDdEeEeEeEeEeGgGgGgGgHhIiIiIiIiIJjKkLlLlLlNnNnNnOoOoOoRr"
    "RrRrSsSsSsSsTtTtUuUuUuUuUuUuWwYyYZzZzZzOoUuAaIiOoUuUuUuUuUuAa"
    "GgKkOoOojGgNnAaAaAaEeEeIiIiOoOoRrRrUuUuSsTtHhAaEeOoOoOoOoYy"
)
_SQL_PUNCTUATION = PUNCTUATION.replace("'", "''")
_SPACES = " " * len(PUNCTUATION)
_FOLD = f"translate(coalesce(value, ''), '{_SQL_PUNCTUATION}{ACCENTED}', '{_SPACES}{UNACCENTED}')"
# SQLite's Porter leaves words under three letters alone; PostgreSQL's would stem `is` to `i`,
# `as` to `a`: such words get two zeros, which the stemmer leaves alone (`is00`, `as00`).
SHORT_PLURAL = "\\m([a-rt-z])s\\M"
WORD_TYPES = (
    "asciiword, asciihword, hword_asciipart, word, hword, hword_part, numword, numhword, hword_numpart"
)

POSTGRES_UP = [
    f"""CREATE OR REPLACE FUNCTION chasm_fts_fold(value text) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT {_FOLD} $$""",
    f"""CREATE OR REPLACE FUNCTION chasm_fts_text(value text) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT regexp_replace({_FOLD}, '{SHORT_PLURAL}', '\\1s00', 'gi') $$""",
    "CREATE TEXT SEARCH DICTIONARY chasm_porter (TEMPLATE = snowball, Language = porter)",
    "CREATE TEXT SEARCH CONFIGURATION chasm_fts (COPY = simple)",
    f"ALTER TEXT SEARCH CONFIGURATION chasm_fts ALTER MAPPING FOR {WORD_TYPES} WITH chasm_porter",
    "DROP INDEX IF EXISTS ix_chat_messages_search_vector",
    "ALTER TABLE chat_messages DROP COLUMN search_vector",
    """ALTER TABLE chat_messages ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('chasm_fts', chasm_fts_text(content)), 'A')
        || setweight(to_tsvector('chasm_fts', chasm_fts_text(tool_text)), 'D')) STORED""",
    "CREATE INDEX ix_chat_messages_search_vector ON chat_messages USING gin (search_vector)",
    "DROP INDEX IF EXISTS ix_chats_title_vector",
    "ALTER TABLE chats DROP COLUMN title_vector",
    """ALTER TABLE chats ADD COLUMN title_vector tsvector
        GENERATED ALWAYS AS (to_tsvector('chasm_fts', chasm_fts_text(title))) STORED""",
    "CREATE INDEX ix_chats_title_vector ON chats USING gin (title_vector)",
]

POSTGRES_DOWN = [  # 0012's vectors
    "DROP INDEX IF EXISTS ix_chat_messages_search_vector",
    "ALTER TABLE chat_messages DROP COLUMN search_vector",
    """ALTER TABLE chat_messages ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', coalesce(content, '')), 'A')
        || setweight(to_tsvector('english', translate(coalesce(tool_text, ''), '/.-:\\=@~', '        ')), 'D'))
        STORED""",
    "CREATE INDEX ix_chat_messages_search_vector ON chat_messages USING gin (search_vector)",
    "DROP INDEX IF EXISTS ix_chats_title_vector",
    "ALTER TABLE chats DROP COLUMN title_vector",
    """ALTER TABLE chats ADD COLUMN title_vector tsvector
        GENERATED ALWAYS AS (to_tsvector('english', coalesce(title, ''))) STORED""",
    "CREATE INDEX ix_chats_title_vector ON chats USING gin (title_vector)",
    "DROP TEXT SEARCH CONFIGURATION chasm_fts",
    "DROP TEXT SEARCH DICTIONARY chasm_porter",
    "DROP FUNCTION chasm_fts_text(text)",
    "DROP FUNCTION chasm_fts_fold(text)",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_DOWN:
            op.execute(statement)
