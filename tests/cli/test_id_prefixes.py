"""Remote commands take a unique prefix of a session id, as git takes commits."""

from __future__ import annotations

import pytest

from chasm.cli.ids import IdPrefixError, match_prefix

IDS = [
    "3f2a9c1e-0b7d-4c55-9a1e-7d2f1c0b9e11",
    "3f2a9c77-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
    "a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d",
]


def test_a_unique_prefix_names_its_id() -> None:
    assert match_prefix("a0b1", IDS) == IDS[2]
    assert match_prefix("3F2A9C1E", IDS) == IDS[0]  # case does not matter
    assert match_prefix("3f2a9c77-1c", IDS) == IDS[1]  # nor dashes
    assert match_prefix(IDS[1], []) == IDS[1]  # a full id is taken as it is


def test_an_ambiguous_or_unknown_prefix_is_refused_clearly() -> None:
    with pytest.raises(IdPrefixError, match=r"'3f2a' is ambiguous: it begins 2 session ids \(3f2a9c1e-"):
        match_prefix("3f2a", IDS)
    with pytest.raises(IdPrefixError, match="no session id starts with 'ffff'"):
        match_prefix("ffff", IDS)


def test_what_is_not_a_prefix_goes_to_the_server_as_given() -> None:
    assert match_prefix("abc", IDS) == "abc"  # under four digits
    assert match_prefix("not-an-id", IDS) == "not-an-id"
