"""Swagger UI served from the package: plant networks are closed, a CDN is not an option.

The three assets (``swagger-ui-bundle.js``, ``swagger-ui.css``, a favicon) come from the
swagger-ui-dist npm package (version in ``static/VERSION``, licence beside it).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).with_name("static")
STATIC_PREFIX = "/static"


def install(app: FastAPI, docs_url: str = "/docs") -> None:
    """Mount the assets and serve ``docs_url`` with them (no request leaves the plant)."""
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="static")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{STATIC_PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{STATIC_PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{STATIC_PREFIX}/favicon-32x32.png",
            # No call to the public validator badge service.
            swagger_ui_parameters={"validatorUrl": None, "tryItOutEnabled": False},
        )
