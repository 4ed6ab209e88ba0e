"""What the review web app's handlers share: the session's DB worker, template
rendering, error responses and reading query parameters and JSON bodies."""

from __future__ import annotations

import json
from typing import Any, Callable

from jinja2 import Environment
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from qualcode.errors import InputError, NotFoundError, QualcodeError

PAGE_SIZE = 50
FILTER_KEYS = ("document", "speaker", "code", "band", "status")

__all__ = ["FILTER_KEYS", "PAGE_SIZE", "Web", "error_response"]


def error_response(exc: QualcodeError) -> JSONResponse:
    code = 404 if isinstance(exc, NotFoundError) else 400
    return JSONResponse({"error": str(exc), "hint": exc.hint}, code)


class Web:
    """The handlers' toolbox: ``worker`` runs session calls on the DB thread."""

    def __init__(self, worker: Any, env: Environment, csrf: str) -> None:
        self.worker = worker
        self.env = env
        self.csrf = csrf

    @property
    def session(self) -> Any:
        return self.worker.session

    def render(self, name: str, **ctx: Any) -> str:
        return self.env.get_template(name).render(csrf=self.csrf, **ctx)

    async def guarded(self, fn: Callable[..., Any], *args: Any, html: bool = False) -> Response:
        """Run ``fn`` on the DB thread; a QualcodeError becomes a 400/404 (an error page
        for HTML, ``{"error", "hint"}`` for JSON)."""
        try:
            out = await self.worker.call(fn, *args)
        except QualcodeError as exc:
            if html:
                return HTMLResponse(self.render("error.html", message=str(exc), hint=exc.hint),
                                    404 if isinstance(exc, NotFoundError) else 400)
            return error_response(exc)
        if html:
            return HTMLResponse(out)
        return JSONResponse(out)

    @staticmethod
    def filters(request: Request) -> dict[str, str]:
        return {k: request.query_params.get(k, "") for k in FILTER_KEYS if request.query_params.get(k)}

    @staticmethod
    def page_no(request: Request) -> int:
        raw = request.query_params.get("page", "0")
        try:
            return max(0, int(raw))
        except ValueError:
            raise InputError(f"page must be a whole number; got {raw!r}") from None

    @staticmethod
    async def body(request: Request) -> dict[str, Any]:
        try:
            data = json.loads(await request.body() or b"{}")
        except ValueError:
            raise InputError("the request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise InputError("the request body must be a JSON object")
        return data

    @staticmethod
    def int_or_none(data: dict[str, Any], key: str) -> int | None:
        v = data.get(key)
        if v is None or v == "":
            return None
        try:
            return int(v)
        except (TypeError, ValueError):
            raise InputError(f"{key} must be a whole number; got {v!r}") from None
