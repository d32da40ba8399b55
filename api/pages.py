"""The API's documentation pages, `/docs` (Swagger UI) and `/redoc` (ReDoc), from this project's templates.

The scripts and styles are fastapi-offline's (served under DOCS_VENDOR, nothing from a CDN). The pages are
ours so that they are what the page policy and an accessibility check ask of a page: a language, a main
landmark, no inline script (Swagger UI is started by `static/pages/swagger-init.js`), and contrast fixes to
Swagger UI's colours (`static/pages/docs.css`).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi_offline import core as offline
from jinja2 import Environment, FileSystemLoader, select_autoescape

#: fastapi-offline's Swagger UI and ReDoc files, and this project's additions to the pages.
DOCS_VENDOR, DOCS_VENDOR_DIR = "/docs-assets", Path(offline.__file__).parent / "static"
PAGE_ASSETS, PAGE_ASSETS_DIR = "/page-assets", Path(__file__).parent / "static" / "pages"
TEMPLATES = Path(__file__).parent / "templates"

router = APIRouter(include_in_schema=False)


@cache
def templates() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


def _page(request: Request, template: str) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    body = (
        templates()
        .get_template(template)
        .render(
            title=request.app.title,
            openapi=f"{root}{request.app.openapi_url}",
            vendor=f"{root}{DOCS_VENDOR}",
            assets=f"{root}{PAGE_ASSETS}",
        )
    )
    return HTMLResponse(body)


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    return _page(request, "swagger-ui.html")


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    return _page(request, "redoc.html")
