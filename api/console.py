"""The PC console, served at /admin from its build (`npm run build` in web/, `CONSOLE_DIR`).

Vite names every built asset by its content's hash: those are cached for a year and never
revalidated. `index.html` names the current assets, so it is revalidated on every load, and a
deployment is seen at once. Any other path under /admin is one of the console's own routes
(history mode): it gets `index.html`, and the console's router shows the screen. A missing
asset is a 404, never `index.html`, so a stale page fails loudly instead of running HTML as a
script. Without a build, /admin says how to make one.
"""

from pathlib import Path
from typing import Final

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.requests import Request

from api.errors import NotFound

CONSOLE_URL: Final = "/admin"
IMMUTABLE: Final = "public, max-age=31536000, immutable"
REVALIDATE: Final = "no-cache"
NOT_BUILT: Final = (
    '<!doctype html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
    "<title>先锋积分 · 控制台</title></head><body>"
    "<h1>控制台尚未构建</h1>"
    "<p>安装 Node.js 20 与 npm 后，在项目目录运行 <code>make run</code>"
    "（或在 <code>web/</code> 中运行 <code>npm ci &amp;&amp; npm run build</code>），"
    "再刷新本页。</p>"
    '<p>接口文档见 <a href="/docs">/docs</a>。</p></body></html>\n'
)


def install(app: FastAPI, directory: str) -> None:
    root = Path(directory).resolve()

    async def entry(_request: Request) -> Response:
        return RedirectResponse(f"{CONSOLE_URL}/", status_code=308)

    async def page(request: Request) -> Response:
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT, status_code=503, headers={"Cache-Control": REVALIDATE})
        wanted: str = request.path_params["path"]
        found = (root / wanted).resolve()
        inside = found.is_relative_to(root) and found != root
        if wanted.startswith("assets/"):
            if not (inside and found.is_file()):
                raise NotFound()
            return FileResponse(found, headers={"Cache-Control": IMMUTABLE})
        if inside and found.is_file():
            return FileResponse(found, headers={"Cache-Control": REVALIDATE})
        return FileResponse(index, headers={"Cache-Control": REVALIDATE})

    app.add_route(CONSOLE_URL, entry, include_in_schema=False)
    app.add_route(f"{CONSOLE_URL}/{{path:path}}", page, include_in_schema=False)
