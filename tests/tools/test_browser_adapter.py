"""`ServiceModuleAdapter`: the browser domain's service functions behind the `BrowserService`
protocol. The module here is a recording double with the same signatures; the real one lives in
`chasm.browser.service` when the browser domain is installed."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from chasm.tools import BrowserService, ToolError
from chasm.tools.browser import ServiceModuleAdapter, _service_module


class Facts(BaseModel):
    url: str
    title: str = ""


def double() -> tuple[SimpleNamespace, list[tuple[str, Any]]]:
    calls: list[tuple[str, Any]] = []
    elements = [
        {"selector": "#go", "tag": "button", "text": "Go", "role": None},
        {"selector": "form > input:nth-of-type(1)", "tag": "input", "text": "", "role": "searchbox"},
    ]

    async def navigate(runtime: Any, row: Any, url: str) -> Facts:
        calls.append(("navigate", url))
        return Facts(url=url, title="T")

    async def snapshot(runtime: Any, row: Any) -> dict[str, Any]:
        return {
            "url": "https://x/",
            "title": "T",
            "text": "hello",
            "text_truncated": False,
            "elements": elements,
        }

    async def click(runtime: Any, row: Any, selector: str) -> dict[str, Any]:
        calls.append(("click", selector))
        return {"action": "click", "selector": selector, "url": "https://x/"}

    async def type_text(
        runtime: Any, row: Any, selector: str, text: str, *, submit: bool = False
    ) -> dict[str, Any]:
        calls.append(("type", (selector, text, submit)))
        return {"action": "type", "selector": selector, "url": "https://x/"}

    async def screenshot(runtime: Any, row: Any, *, full_page: bool = False) -> Any:
        return SimpleNamespace(png=b"\x89PNG-bytes", width=1, height=1)

    async def evaluate(runtime: Any, row: Any, expression: str) -> dict[str, Any]:
        return {"value": 2, "type": "number"}

    module = SimpleNamespace(
        navigate=navigate,
        snapshot=snapshot,
        click=click,
        type_text=type_text,
        screenshot=screenshot,
        evaluate=evaluate,
    )
    return module, calls


async def test_the_adapter_maps_refs_to_the_services_selectors(app: FastAPI) -> None:
    module, calls = double()
    adapter = ServiceModuleAdapter(module, app)
    assert isinstance(adapter, BrowserService)
    row: Any = object()
    snap = await adapter.snapshot(None, None, row)  # type: ignore[arg-type]
    assert snap["outline"].splitlines() == [
        '- button "Go" [ref=e1] selector: #go',
        '- searchbox "" [ref=e2] selector: form > input:nth-of-type(1)',
    ]
    assert [e["ref"] for e in snap["elements"]] == ["e1", "e2"]
    await adapter.click(None, None, row, ref="e1", selector=None)  # type: ignore[arg-type]
    await adapter.type(None, None, row, "q", ref="e2", selector=None, submit=True)  # type: ignore[arg-type]
    await adapter.click(None, None, row, ref=None, selector="a.next")  # type: ignore[arg-type]
    assert calls == [
        ("click", "#go"),
        ("type", ("form > input:nth-of-type(1)", "q", True)),
        ("click", "a.next"),
    ]
    with pytest.raises(ToolError) as gone:
        await adapter.click(None, None, row, ref="e3", selector=None)  # type: ignore[arg-type]
    assert gone.value.code == "ref_not_found"
    with pytest.raises(ToolError):
        await adapter.click(None, None, row, ref="button", selector=None)  # type: ignore[arg-type]
    assert await adapter.screenshot(None, None, row, full_page=False) == b"\x89PNG-bytes"  # type: ignore[arg-type]
    assert (await adapter.navigate(None, None, row, "https://y/"))["url"] == "https://y/"  # type: ignore[arg-type]
    assert (await adapter.evaluate(None, None, row, "1+1"))["value"] == 2  # type: ignore[arg-type]


def test_the_service_module_is_used_only_when_it_is_installed_whole() -> None:
    import importlib.util

    installed = importlib.util.find_spec("chasm.browser") is not None
    assert (_service_module() is not None) == installed
