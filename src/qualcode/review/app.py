"""The review workbench as a local web app (Starlette + Jinja2 + a little plain JS).

Security, for a server that only ever listens on 127.0.0.1:

* **Session token.** :func:`create_app` is given a random token; the URL the CLI prints
  and opens carries it (``/?token=...``), the server answers with an HttpOnly,
  SameSite=Strict cookie and a redirect to the same page without it. Every other
  request needs the cookie (compared in constant time) or gets 403.
* **Host header.** Only ``127.0.0.1:PORT`` and ``localhost:PORT`` are served, so a
  DNS-rebinding page on another name gets 421 even though it reaches the socket.
* **CSRF.** Writes are ``POST`` with a JSON body (``Content-Type: application/json``,
  which a cross-site form cannot send), a per-session CSRF token in a header, and an
  ``Origin`` that, when sent, must be this server.
* **Escaping.** Every text goes through Jinja2 autoescaping (templates) or
  ``textContent`` (JS); the Content-Security-Policy allows scripts and styles from
  this server only, so an injected ``<script>`` or ``onerror`` would not run anyway.

All store access happens on one worker thread (SQLite connections belong to the
thread that opened them), so the event loop never blocks on the database and
decisions are serialised.
"""

from __future__ import annotations

import asyncio
import functools
import json
import secrets
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any, Callable

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from qualcode.errors import InputError, NotFoundError, QualcodeError

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
PAGE_SIZE = 50


class DbWorker:
    """Runs every call on one thread, where the review session (and its SQLite
    connection) was created."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qualcode-review-db")
        try:
            self.session = self._pool.submit(factory).result()
        except BaseException:
            self._pool.shutdown(wait=True)
            raise

    async def call(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kw))

    def run(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """Blocking call from outside the event loop (startup, shutdown, tests)."""
        return self._pool.submit(fn, *args, **kw).result()

    def close(self) -> None:
        try:
            self._pool.submit(self.session.project.close).result()
        finally:
            self._pool.shutdown(wait=True)


def _env() -> Environment:
    env = Environment(loader=PackageLoader("qualcode.review", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["score"] = lambda v: "" if v is None else f"{float(v):.3f}"
    env.filters["pct"] = lambda v: "–" if v is None else f"{100 * float(v):.0f}%"
    env.filters["kappa"] = lambda v: "–" if v is None else f"{float(v):.2f}"
    env.filters["clock"] = _clock
    return env


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


class _Guard:
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
            await _with_headers(response)(scope, receive, send)
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


def _with_headers(resp: Response) -> Response:
    for k, v in SECURITY_HEADERS.items():
        resp.headers.setdefault(k, v)
    return resp


def _error(exc: QualcodeError) -> JSONResponse:
    code = 404 if isinstance(exc, NotFoundError) else 400
    return JSONResponse({"error": str(exc), "hint": exc.hint}, code)


def create_app(factory: Callable[[], Any], *, token: str, port: int, worker: DbWorker | None = None) -> Any:
    """The review web app. ``factory`` builds the :class:`ReviewSession` (on the DB
    thread); ``token`` is the session token the opened URL carries; ``port`` is the
    one the server listens on (for the Host and Origin checks)."""
    worker = worker or DbWorker(factory)
    csrf = secrets.token_urlsafe(24)
    env = _env()
    static_dir = str(resources.files("qualcode.review") / "static")

    def render(name: str, **ctx: Any) -> str:
        return env.get_template(name).render(csrf=csrf, **ctx)

    def _filters(request: Request) -> dict[str, str]:
        keys = ("document", "speaker", "code", "band", "status")
        return {k: request.query_params.get(k, "") for k in keys if request.query_params.get(k)}

    def _page_no(request: Request) -> int:
        raw = request.query_params.get("page", "0")
        try:
            return max(0, int(raw))
        except ValueError:
            raise InputError(f"page must be a whole number; got {raw!r}") from None

    def _context(s: Any) -> dict[str, Any]:
        codes = s.codes

        def codes_index(code: str) -> int:
            return codes.index(code) if code in codes else 0

        return {"project": s.project.name, "run": s.run, "coder": s.coder, "blind": s.blind,
                "codebook": s.codebook_view(), "documents": s.documents(), "codes": codes,
                "codes_index": codes_index}

    def queue_html(request: Request) -> str:
        s = worker.session
        f = _filters(request)
        page = s.queue(page=_page_no(request), size=PAGE_SIZE, filters=f)
        return render("queue.html", page=page, filters=f, speakers=s.speakers(), agreement=s.agreement(),
                      query=urllib.parse.urlencode(f), **_context(s))

    def fragment_html(request: Request, which: str) -> str:
        s = worker.session
        if which == "queue":
            f = _filters(request)
            page = s.queue(page=_page_no(request), size=PAGE_SIZE, filters=f)
            return render("_queue.html", page=page, query=urllib.parse.urlencode(f), blind=s.blind,
                          colors=s.code_colors(), codes=s.codes)
        if which == "agreement":
            return render("_agreement.html", agreement=s.agreement(), blind=s.blind)
        if which == "codebook":
            return render("_codebook.html", codebook=s.codebook_view(), blind=s.blind)
        raise NotFoundError(f"no fragment {which!r}")

    def doc_html(doc_id: int) -> str:
        s = worker.session
        return render("document.html", doc=s.document(doc_id), agreement=s.agreement(), **_context(s))

    async def guarded(fn: Callable[..., Any], *args: Any, html: bool = False) -> Response:
        try:
            out = await worker.call(fn, *args)
        except QualcodeError as exc:
            if html:
                return HTMLResponse(render("error.html", message=str(exc), hint=exc.hint),
                                    404 if isinstance(exc, NotFoundError) else 400)
            return _error(exc)
        if html:
            return HTMLResponse(out)
        return JSONResponse(out)

    async def index(request: Request) -> Response:
        return await guarded(queue_html, request, html=True)

    async def fragment(request: Request) -> Response:
        return await guarded(fragment_html, request, request.path_params["which"], html=True)

    async def document(request: Request) -> Response:
        return await guarded(doc_html, request.path_params["doc_id"], html=True)

    async def codes_css(request: Request) -> Response:
        colors = await worker.call(lambda: worker.session.code_colors())
        css = "".join(f".k{i}{{--c:{c}}}\n" for i, c in enumerate(colors.values()))
        return Response(css, media_type="text/css")

    async def api_queue(request: Request) -> Response:
        f = _filters(request)
        size = request.query_params.get("size", str(PAGE_SIZE))

        def go() -> dict[str, Any]:
            try:
                n = int(size)
            except ValueError:
                raise InputError(f"size must be a whole number; got {size!r}") from None
            return worker.session.queue(page=_page_no(request), size=n, filters=f).to_dict()

        return await guarded(go)

    async def api_agreement(request: Request) -> Response:
        return await guarded(lambda: worker.session.agreement())

    async def api_coding(request: Request) -> Response:
        return await guarded(lambda: worker.session.coding_detail(request.path_params["coding_id"]))

    async def api_document(request: Request) -> Response:
        return await guarded(lambda: worker.session.document(request.path_params["doc_id"]))

    async def body(request: Request) -> dict[str, Any]:
        try:
            data = json.loads(await request.body() or b"{}")
        except ValueError:
            raise InputError("the request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise InputError("the request body must be a JSON object")
        return data

    def _int_or_none(data: dict[str, Any], key: str) -> int | None:
        v = data.get(key)
        if v is None or v == "":
            return None
        try:
            return int(v)
        except (TypeError, ValueError):
            raise InputError(f"{key} must be a whole number; got {v!r}") from None

    async def api_decide(request: Request) -> Response:
        try:
            data = await body(request)
            kw = {k: _int_or_none(data, k) for k in ("coding_id", "segment_id", "document_id", "start", "end")}
        except QualcodeError as exc:
            return _error(exc)
        return await guarded(lambda: {"decisions": worker.session.decide(str(data.get("action", "")),
                                                                         code=data.get("code"), **kw)})

    async def api_undo(request: Request) -> Response:
        return await guarded(lambda: {"undone": worker.session.undo()})

    async def api_codebook(request: Request) -> Response:
        try:
            data = await body(request)
        except QualcodeError as exc:
            return _error(exc)
        what = request.path_params["what"]

        def go() -> dict[str, Any]:
            s = worker.session
            if what == "code":
                cb = s.add_code(str(data.get("name", "")), str(data.get("definition", "")))
            elif what == "definition":
                cb = s.edit_definition(str(data.get("name", "")), str(data.get("definition", "")))
            else:
                raise NotFoundError(f"no codebook action {what!r}")
            return {"codebook": cb.name, "version": cb.version, "codes": s.codebook_view()}

        return await guarded(go)

    async def api_memo(request: Request) -> Response:
        try:
            data = await body(request)
            sid = _int_or_none(data, "segment_id")
        except QualcodeError as exc:
            return _error(exc)
        return await guarded(lambda: {"memo": worker.session.add_memo(str(data.get("text", "")),
                                                                      code=data.get("code") or None, segment_id=sid)})

    async def favicon(request: Request) -> Response:
        return Response(status_code=204)

    routes = [
        Route("/", index),
        Route("/favicon.ico", favicon),
        Route("/doc/{doc_id:int}", document),
        Route("/fragment/{which}", fragment),
        Route("/codes.css", codes_css),
        Route("/api/queue", api_queue),
        Route("/api/agreement", api_agreement),
        Route("/api/coding/{coding_id:int}", api_coding),
        Route("/api/document/{doc_id:int}", api_document),
        Route("/api/decide", api_decide, methods=["POST"]),
        Route("/api/undo", api_undo, methods=["POST"]),
        Route("/api/codebook/{what}", api_codebook, methods=["POST"]),
        Route("/api/memo", api_memo, methods=["POST"]),
        Mount("/static", StaticFiles(directory=static_dir), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.worker = worker
    app.state.csrf = csrf
    cookie = f"qualcode_review_{port}"
    guard = _Guard(app, token=token, csrf=csrf, port=port, cookie=cookie)
    guard.worker = worker  # type: ignore[attr-defined]
    guard.cookie_name = cookie  # type: ignore[attr-defined]
    return guard


def new_token() -> str:
    return secrets.token_urlsafe(32)
