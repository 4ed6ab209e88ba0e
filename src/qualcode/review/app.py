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

The parts: :mod:`~qualcode.review.guard` (the checks above, as middleware),
:mod:`~qualcode.review.pages` (HTML), :mod:`~qualcode.review.json_api` (JSON),
:mod:`~qualcode.review.web` (what their handlers share); this module assembles them.

All store access happens on one worker thread (SQLite connections belong to the
thread that opened them), so the event loop never blocks on the database and
decisions are serialised.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any, Callable

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from qualcode.review.guard import CSP, CSRF_HEADER, SECURITY_HEADERS, Guard
from qualcode.review.json_api import api_routes
from qualcode.review.pages import page_routes
from qualcode.review.web import PAGE_SIZE, Web

__all__ = ["CSP", "CSRF_HEADER", "PAGE_SIZE", "SECURITY_HEADERS", "DbWorker", "create_app", "new_token"]


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


def create_app(factory: Callable[[], Any], *, token: str, port: int, worker: DbWorker | None = None) -> Any:
    """The review web app. ``factory`` builds the :class:`ReviewSession` (on the DB
    thread); ``token`` is the session token the opened URL carries; ``port`` is the
    one the server listens on (for the Host and Origin checks)."""
    worker = worker or DbWorker(factory)
    csrf = secrets.token_urlsafe(24)
    web = Web(worker, _env(), csrf)
    static_dir = str(resources.files("qualcode.review") / "static")
    routes = [*page_routes(web), *api_routes(web), Mount("/static", StaticFiles(directory=static_dir), name="static")]
    app = Starlette(routes=routes)
    app.state.worker = worker
    app.state.csrf = csrf
    cookie = f"qualcode_review_{port}"
    guard = Guard(app, token=token, csrf=csrf, port=port, cookie=cookie)
    guard.worker = worker  # type: ignore[attr-defined]
    guard.cookie_name = cookie  # type: ignore[attr-defined]
    return guard


def new_token() -> str:
    return secrets.token_urlsafe(32)
