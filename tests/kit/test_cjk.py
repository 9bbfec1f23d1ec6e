"""CJK characters set apart for the full-text index, and snippets read back as written."""

from __future__ import annotations

from chasm.kit import cjk

S = cjk.SEPARATOR


def test_each_cjk_character_is_set_apart_and_other_text_is_left_alone() -> None:
    assert cjk.separate("日本語 abc") == f"{S}日{S}{S}本{S}{S}語{S} abc"
    assert cjk.separate("한국어") == f"{S}한{S}{S}국{S}{S}어{S}"
    assert cjk.separate("ｶﾞ𠀋") == f"{S}ｶ{S}{S}ﾞ{S}{S}𠀋{S}"  # half-width Katakana, extension B
    assert cjk.separate("、。「」・") == "、。「」・"  # punctuation is a blank already
    plain = "“quoted” — café → ✅ 🚀 \ud83d"  # typographic, accented, emoji, a lone surrogate
    assert cjk.separate(plain) is plain
    assert cjk.separate(None) is None


def test_query_words_become_the_index_words() -> None:
    assert cjk.tokens("Python入門") == ["Python", "入", "門"]
    assert cjk.tokens("文章") == ["文", "章"]
    assert cjk.tokens("plain") == ["plain"]
    assert cjk.runs(["Python入門", "abc", "文章"]) == ("入門", "文章")


def test_snippets_read_as_written_with_whole_words_marked() -> None:
    start, end = "[", "]"
    marked = f"{S}日{S}{S}本{S}[{S}文{S}][{S}章{S}]{S}を{S} ok [{S}文{S}]"
    assert cjk.unmark(marked, start, end) == "日本[文章]を ok [文]"
    # A lone character of the query's word (PostgreSQL marks them) loses its marks.
    assert cjk.unmark(marked, start, end, ("文章",)) == "日本[文章]を ok 文"
    assert cjk.unmark("no [cjk] here", start, end, ("文章",)) == "no [cjk] here"
