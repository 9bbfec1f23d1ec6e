"""The guard every source's parse runs under: collector paused, exceptions turned into issues."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from chasm.harvest.model import ParseOutcome, SourceUnit
from chasm.harvest.parsing import gc_pause, guarded_parse


def test_a_parser_bug_becomes_an_issue(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from chasm.harvest.sources import windsurf

    def broken(path: Path, provider: str) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(windsurf, "parse_transcript", broken)
    path = tmp_path / "t.jsonl"
    path.write_text("{}\n")
    outcome, failed = guarded_parse(windsurf.source, SourceUnit(key=str(path), paths=[path]))
    assert failed and outcome.chats == []
    assert [(i.path, i.message) for i in outcome.issues] == [
        (str(path), "could not be parsed: RuntimeError: boom")
    ]


def test_the_collector_is_paused_during_a_parse_and_resumed_after(tmp_path: Path) -> None:
    seen: list[bool] = []

    class Probe:
        name = "probe"

        def parse(self, unit: SourceUnit, resume: object = None) -> ParseOutcome:
            seen.append(gc.isenabled())
            with gc_pause():  # nested pauses are counted: the inner one does not resume it
                pass
            seen.append(gc.isenabled())
            return ParseOutcome([])

    assert gc.isenabled()
    outcome, failed = guarded_parse(Probe(), SourceUnit(key="k", paths=[tmp_path]))  # type: ignore[arg-type]
    assert not failed and outcome.chats == []
    assert seen == [False, False] and gc.isenabled()
