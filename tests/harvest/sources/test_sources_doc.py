"""docs/harvest-sources.md: the toolkit it names exists, and its example source works."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

from chasm.harvest.model import Resume
from chasm.harvest.parsing import guarded_parse
from chasm.harvest.spec import HarvestSource

DOC = Path(__file__).resolve().parents[3] / "docs" / "harvest-sources.md"


def test_every_toolkit_name_in_the_table_exists() -> None:
    rows = re.findall(r"^\| `(\w+)` \| (.+) \|$", DOC.read_text(), re.M)
    assert len(rows) == 10
    for module_name, text in rows:
        module = importlib.import_module(f"chasm.harvest.sources.toolkit.{module_name}")
        for name in re.findall(r"`(\w+)`", text):
            assert hasattr(module, name), f"toolkit.{module_name}.{name}"


def test_the_example_source_parses_and_resumes(tmp_path: Path) -> None:
    code = DOC.read_text().split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, object] = {}
    exec(compile(code, str(DOC), "exec"), namespace)
    source = namespace["source"]
    assert isinstance(source, HarvestSource)
    root = source.default_roots("linux", tmp_path, {})[0]
    root.mkdir(parents=True)
    log = root / "s1.mylog"
    log.write_text(json.dumps({"role": "user", "text": "hello there", "ts": 1700000000}) + "\n{broken\n")
    (unit,) = source.discover([tmp_path])
    outcome, failed = guarded_parse(source, unit)
    assert not failed and [i.line for i in outcome.issues] == [2]
    (chat,) = outcome.chats
    assert chat.title == "hello there" and [m.content for m in chat.messages] == ["hello there"]
    with log.open("a") as fh:
        fh.write(json.dumps({"role": "assistant", "text": "hi"}) + "\n")
    assert outcome.resume is not None
    more, _ = guarded_parse(source, unit, Resume(outcome.resume.offset, outcome.resume.state))
    assert [m.content for m in more.chats[0].messages] == ["hi"] and more.issues == []
