"""The source toolkit where its two predecessors differed: one behaviour for every source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from chasm.harvest.model import ToolCall
from chasm.harvest.sources.toolkit.blocks import read_blocks
from chasm.harvest.sources.toolkit.coercion import as_int
from chasm.harvest.sources.toolkit.timestamps import to_utc
from chasm.harvest.sources.toolkit.toolcalls import ToolCallIndex

MOMENT = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "2023-11-14T22:13:20Z",
        " 2023-11-14T22:13:20+00:00 ",
        "2023-11-14T23:13:20+01:00",
        1_700_000_000,
        1_700_000_000_000,
        1_700_000_000_000_000,
        "1700000000000",
        datetime(2023, 11, 14, 23, 13, 20, tzinfo=timezone(timedelta(hours=1))),
    ],
)
def test_timestamps_in_every_shape(value: object) -> None:
    assert to_utc(value) == MOMENT and to_utc(value).tzinfo is UTC  # type: ignore[union-attr]


@pytest.mark.parametrize("value", [None, True, 0, -5, "", "later", "2023-13-45", [], {}])
def test_no_time(value: object) -> None:
    assert to_utc(value) is None


def test_counts() -> None:
    assert [as_int(v) for v in (3, 3.9, "4", "4.5", True, None, "x")] == [3, 3, 4, 4, 0, 0, 0]


def test_blocks_of_both_families() -> None:
    blocks = read_blocks(
        [
            {"type": "text", "text": "one"},
            {"type": "text", "text": "  "},
            {"type": "input_text", "text": "two"},
            {"type": "reasoning", "text": "hmm"},
            {"type": "tool_use", "id": "a", "name": "Read", "input": {"path": "x"}},
            {"type": "tool-call", "toolCallId": "b", "toolName": "ls", "args": '{"d": 1}'},
            {"type": "tool_result", "tool_use_id": "a", "content": [{"type": "text", "text": "ok"}]},
            {"type": "tool-result", "toolCallId": "b", "result": None, "is_error": True},
            {"type": "image"},
        ]
    )
    assert blocks.texts == ["one", "  ", "two"] and blocks.text == "one\n\ntwo"
    assert blocks.thinking == ["hmm"] and blocks.images == 1
    assert [(c.id, c.name, c.input) for c in blocks.tool_calls] == [
        ("a", "Read", {"path": "x"}),
        ("b", "ls", {"d": 1}),
    ]
    assert blocks.results == [("a", "ok", False), ("b", "", True)]


def test_tool_results_find_their_calls() -> None:
    index = ToolCallIndex()
    named, anonymous = ToolCall("Read", id="a"), ToolCall("ls")
    index.add(named)
    index.add(anonymous)
    assert index.resolve("lost", "?") is anonymous  # an unknown id only takes a call without one
    assert index.resolve(None, "!") is named
    assert index.resolve("a", "again", is_error=True) is named and named.is_error
    assert index.resolve("a", "third") is named and named.is_error  # an error stays an error
    assert index.resolve(None, "nobody") is None and index.unresolved_ids() == []
