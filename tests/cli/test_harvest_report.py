"""What `chasm harvest` prints when a file could not be read: the issue as written, after a label."""

from __future__ import annotations

import pytest

from chasm.cli.harvest_report import show_report


def test_issues_print_as_written_after_a_plain_label(capsys: pytest.CaptureFixture[str]) -> None:
    issue = "codex: /home/me/[draft]/rollout.jsonl:3: not JSON"
    report = {
        "duration_ms": 10,
        "providers": {"codex": {"units_seen": 1, "errors": 1}},
        "errors": [issue],
    }
    show_report(report, as_json=False)
    out = capsys.readouterr().out
    assert f"warning {issue}" in out  # neither markup shown literally nor brackets eaten
    assert "[yellow]" not in out


def test_the_table_fits_80_columns_with_the_longest_source_names(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    counts = {
        "units_seen": 6534,
        "units_parsed": 6534,
        "units_skipped": 0,
        "chats_created": 6534,
        "chats_updated": 0,
        "messages_added": 123456,
        "errors": 0,
    }
    names = ["claude-ai-export", "copilot-vscode", "chatgpt-export"]
    show_report({"duration_ms": 10, "providers": dict.fromkeys(names, counts), "errors": []}, as_json=False)
    out = capsys.readouterr().out
    assert all(len(line) <= 80 for line in out.splitlines())
    header = next(line for line in out.splitlines() if "Source" in line)
    assert header.split() == ["Source", "Seen", "Parsed", "Skipped", "New", "Updated", "Messages", "Errors"]
    assert "…" not in out and "123,456" in out
