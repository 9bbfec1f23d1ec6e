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
