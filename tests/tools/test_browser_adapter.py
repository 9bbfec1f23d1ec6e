"""`ServiceModuleAdapter`: the browser domain's service functions behind the `BrowserService`
protocol. The module here is a recording double with the same signatures; the real one lives in
`chasm.browser.service` when the browser domain is installed."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from chasm.tools import BrowserService
from chasm.tools.browser import ServiceModuleAdapter, _service_module


class Facts(BaseModel):
    url: str
    title: str = ""


def double() -> tuple[SimpleNamespace, list[tuple[str, Any]]]:
    calls: list[tuple[str, Any]] = []

    async def navigate(runtime: Any, row: Any, url: str) -> Facts:
        calls.append(("navigate", url))
        return Facts(url=url, title="T")

    async def snapshot(runtime: Any, row: Any) -> dict[str, Any]:
        outline = '- button "Go" [ref=e7]\n- searchbox "Query" [ref=e9]'
        return {"url": "https://x/", "title": "T", "text": "hello", "outline": outline}

    async def click(
        runtime: Any, row: Any, selector: str | None, *, ref: str | None = None
    ) -> dict[str, Any]:
        calls.append(("click", (selector, ref)))
        return {"action": "click", "selector": selector, "ref": ref, "url": "https://x/"}

    async def type_text(
        runtime: Any,
        row: Any,
        selector: str | None,
        text: str,
        *,
        ref: str | None = None,
        submit: bool = False,
    ) -> dict[str, Any]:
        calls.append(("type", (selector, ref, text, submit)))
        return {"action": "type", "selector": selector, "ref": ref, "url": "https://x/"}

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


async def test_the_adapter_hands_refs_and_selectors_to_the_service(app: FastAPI) -> None:
    module, calls = double()
    adapter = ServiceModuleAdapter(module, app)
    assert isinstance(adapter, BrowserService)
    row: Any = object()
    snap = await adapter.snapshot(None, None, row)  # type: ignore[arg-type]
    assert "[ref=e7]" in snap["outline"]
    await adapter.click(None, None, row, ref="e7", selector=None)  # type: ignore[arg-type]
    await adapter.type(None, None, row, "q", ref="e9", selector=None, submit=True)  # type: ignore[arg-type]
    await adapter.click(None, None, row, ref=None, selector="a.next")  # type: ignore[arg-type]
    assert calls == [
        ("click", (None, "e7")),
        ("type", (None, "e9", "q", True)),
        ("click", ("a.next", None)),
    ]
    assert await adapter.screenshot(None, None, row, full_page=False) == b"\x89PNG-bytes"  # type: ignore[arg-type]
    assert (await adapter.navigate(None, None, row, "https://y/"))["url"] == "https://y/"  # type: ignore[arg-type]
    assert (await adapter.evaluate(None, None, row, "1+1"))["value"] == 2  # type: ignore[arg-type]


def test_the_service_module_is_used_only_when_it_is_installed_whole() -> None:
    import importlib.util

    installed = importlib.util.find_spec("chasm.browser") is not None
    assert (_service_module() is not None) == installed
