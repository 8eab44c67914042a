"""Plain ASGI middleware for HTTP requests.

The API's middlewares are plain ASGI rather than `@app.middleware("http")`, which costs a task
and a stream per request (a large share of a GPS ping's time under load). Each acts on HTTP
requests only; WebSocket and lifespan traffic passes straight through.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class HttpMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError
