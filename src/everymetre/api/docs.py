"""Interactive API docs at /docs, from the Swagger UI 5 files of the installed `fastapi-offline` package (Swagger
UI 4, as in `swagger-ui-bundle`, cannot read the OpenAPI 3.1 that FastAPI writes).

Nothing is fetched from a CDN: the page's script and style come from /docs/assets/ (the package's files,
served read-only), and its one inline script is allowed by its hash in the page's own Content-Security-Policy.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse, Response

from everymetre.kernel.errors import NotFound

router = APIRouter(include_in_schema=False)
ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
SERVED = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css", "favicon.png": "image/png"}
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def _csp_for(html: str) -> str:
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
                      for s in INLINE_SCRIPT.findall(html))
    return (f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


@router.get("/docs")
def docs(request: Request) -> Response:
    page = get_swagger_ui_html(
        openapi_url="/openapi.json", title="everymetre API",
        swagger_js_url="/docs/assets/swagger-ui-bundle.js", swagger_css_url="/docs/assets/swagger-ui.css",
        swagger_favicon_url="/docs/assets/favicon.png", oauth2_redirect_url="/docs/oauth2-redirect",
    )
    html = bytes(page.body).decode()
    return HTMLResponse(html, headers={"Content-Security-Policy": _csp_for(html)})


@router.get("/docs/oauth2-redirect")
def oauth2_redirect() -> Response:
    page = get_swagger_ui_oauth2_redirect_html()
    html = bytes(page.body).decode()
    return HTMLResponse(html, headers={"Content-Security-Policy": _csp_for(html)})


@router.get("/docs/assets/{name}")
def asset(name: str) -> Response:
    if name not in SERVED:
        raise NotFound("No such file.")
    return FileResponse(ASSETS / name, media_type=SERVED[name], headers={"Cache-Control": "public, max-age=86400"})
