"""How read_chat trims a message for a model: long texts and tool calls are cut, with their length."""

from __future__ import annotations

import uuid

from chasm.tools.chats import ReadArgs, _message


def test_long_texts_and_tool_calls_are_cut_with_their_length() -> None:
    args = ReadArgs(chat_id=uuid.uuid4(), max_chars=100)
    message = {
        "id": "m1",
        "seq": 3,
        "role": "assistant",
        "created_at": None,
        "content": "x" * 150,
        "thinking": "secret plan",
        "tool_calls": [{"id": "c1", "name": "bash", "input": {"command": "ls"}, "output": "y" * 500}],
    }
    out = _message(message, args)
    assert out["content"] == "x" * 100 and out["content_truncated"] == 150
    assert "thinking" not in out
    assert out["tool_calls"] == [
        {"id": "c1", "name": "bash", "input": {"command": "ls"}, "output": "y" * 100, "output_truncated": 500}
    ]
    thoughtful = ReadArgs(chat_id=uuid.uuid4(), include_thinking=True)
    assert _message(message, thoughtful)["thinking"] == "secret plan"
