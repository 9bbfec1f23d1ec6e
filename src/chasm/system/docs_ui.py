"""Swagger UI at /swagger-ui, served entirely by this server: its scripts and styles come from
the installed `swagger-ui-py` package (Swagger UI 5, which renders OpenAPI 3.1), never a CDN, so
the page works offline and on hosts that reach nothing outside."""

from __future__ import annotations

from pathlib import Path

import swagger_ui
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/swagger-ui"
ASSETS_PATH = f"{DOCS_PATH}/assets"
ASSETS_DIR = Path(swagger_ui.__file__).parent / "static"


def install(app: FastAPI) -> None:
    openapi_url = app.openapi_url or "/openapi.json"

    async def swagger_ui_page() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
        )

    app.add_api_route(DOCS_PATH, swagger_ui_page, methods=["GET"], include_in_schema=False)
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="swagger-ui-assets")
