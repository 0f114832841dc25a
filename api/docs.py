"""The API docs (Swagger UI at /docs, ReDoc at /redoc) with every asset served by us.

FastAPI's own pages load their scripts and styles from a CDN, which is unreliable inside China
and useless on a closed network. The assets come from the pinned `fastapi-offline` package
(Swagger UI and ReDoc as released), the start-up script from `api/static`: the pages run no
inline script and load nothing from elsewhere.
"""

from importlib.resources import files
from pathlib import Path
from typing import Final

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from starlette.requests import Request

from api.errors import NotFound

DOCS_URL: Final = "/docs"
REDOC_URL: Final = "/redoc"
ASSETS_URL: Final = "/docs/assets"
_RELEASED = Path(str(files("fastapi_offline") / "static"))
_OURS = Path(__file__).resolve().parent / "static"
ASSETS: Final = {
    "swagger-ui-bundle.js": _RELEASED / "swagger-ui-bundle.js",
    "swagger-ui.css": _RELEASED / "swagger-ui.css",
    "redoc.standalone.js": _RELEASED / "redoc.standalone.js",
    "favicon.png": _RELEASED / "favicon.png",
    "swagger-init.js": _OURS / "swagger-init.js",
}
# The assets change only with the pinned package: a day's cache, revalidated after.
ASSET_CACHE: Final = "public, max-age=86400"


def _page(title: str, head: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n"
        f'<link rel="icon" type="image/png" href="{ASSETS_URL}/favicon.png">\n{head}</head>\n'
        f"<body>\n{body}</body>\n</html>\n"
    )


def install(app: FastAPI, *, title: str) -> None:
    """Serve the two pages and their assets (the caller decides whether docs are on)."""
    swagger = _page(
        title,
        f'<link rel="stylesheet" href="{ASSETS_URL}/swagger-ui.css">\n',
        f'<div id="swagger-ui"></div>\n<script src="{ASSETS_URL}/swagger-ui-bundle.js"></script>\n'
        f'<script src="{ASSETS_URL}/swagger-init.js"></script>\n',
    )
    redoc = _page(
        title,
        "",
        f'<redoc spec-url="/openapi.json"></redoc>\n'
        f'<script src="{ASSETS_URL}/redoc.standalone.js"></script>\n',
    )

    async def swagger_page(_request: Request) -> HTMLResponse:
        return HTMLResponse(swagger)

    async def redoc_page(_request: Request) -> HTMLResponse:
        return HTMLResponse(redoc)

    async def asset(request: Request) -> FileResponse:
        path = ASSETS.get(request.path_params["name"])
        if path is None:
            raise NotFound()
        return FileResponse(path, headers={"Cache-Control": ASSET_CACHE})

    app.add_route(DOCS_URL, swagger_page, include_in_schema=False)
    app.add_route(REDOC_URL, redoc_page, include_in_schema=False)
    app.add_route(f"{ASSETS_URL}/{{name}}", asset, include_in_schema=False)
