"""The dashboard at ``/`` and its files under ``/ui``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from dunes.interfaces.web import STATIC

router = APIRouter(include_in_schema=False)

#: The page's own policy: scripts and images from this server only (cytoscape sets inline
#: styles on its canvases, so styles may be inline).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


@router.get("/", response_class=HTMLResponse)
async def dashboard() -> HTMLResponse:
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    return HTMLResponse(
        page,
        headers={
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC)
