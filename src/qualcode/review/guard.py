"""The review web app's guard (ASGI middleware): Host check, session token -> cookie,
CSRF on writes, and the security headers on every response (see
:mod:`qualcode.review.app` for why each is there)."""

from __future__ import annotations

import secrets
import urllib.parse
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
CSRF_HEADER = "x-qualcode-csrf"

__all__ = ["CSP", "CSRF_HEADER", "SECURITY_HEADERS", "Guard", "with_headers"]


class Guard:
    """ASGI middleware: Host check, session token -> cookie, CSRF on writes, headers."""

    def __init__(self, app: Any, *, token: str, csrf: str, port: int, cookie: str) -> None:
        self.app = app
        self.token = token
        self.csrf = csrf
        self.cookie = cookie
        self.hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        if port == 80:
            self.hosts |= {"127.0.0.1", "localhost"}
        self.origins = {f"http://{h}" for h in self.hosts}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        response = self._check(request)
        if response is not None:
            await with_headers(response)(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                have = {k.lower() for k, _ in headers}
                for k, v in SECURITY_HEADERS.items():
                    if k.lower().encode() not in have:
                        headers.append((k.lower().encode(), v.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _check(self, request: Request) -> Response | None:
        host = request.headers.get("host", "")
        if host not in self.hosts:
            return PlainTextResponse("unknown host: this server answers only on 127.0.0.1 / localhost", 421)
        given = request.query_params.get("token")
        if given is not None and request.method == "GET":
            if not secrets.compare_digest(given, self.token):
                return PlainTextResponse("wrong session token: open the link `qualcode review` printed", 403)
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            url = request.url.path + ("?" + urllib.parse.urlencode(rest) if rest else "")
            resp = RedirectResponse(url, 303)
            resp.set_cookie(self.cookie, self.token, httponly=True, samesite="strict", path="/")
            return resp
        have = request.cookies.get(self.cookie, "")
        if not have or not secrets.compare_digest(have, self.token):
            return PlainTextResponse("not signed in: open the link `qualcode review` printed (it carries the "
                                     "session token)", 403)
        if request.method not in ("GET", "HEAD"):
            if request.method != "POST":
                return PlainTextResponse("method not allowed", 405)
            origin = request.headers.get("origin")
            if origin is not None and origin not in self.origins:
                return PlainTextResponse("cross-origin write refused", 403)
            if not secrets.compare_digest(request.headers.get(CSRF_HEADER, ""), self.csrf):
                return PlainTextResponse("missing or wrong CSRF token", 403)
            if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
                return PlainTextResponse("writes take a JSON body (Content-Type: application/json)", 415)
        return None


def with_headers(resp: Response) -> Response:
    for k, v in SECURITY_HEADERS.items():
        resp.headers.setdefault(k, v)
    return resp
