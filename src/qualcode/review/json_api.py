"""The review web app's JSON API: reads (queue, agreement, a coding, a document) and
writes (decide, undo, codebook edits, memos; POST with a JSON body, CSRF-checked by
:mod:`qualcode.review.guard`). Each calls one :class:`~qualcode.review.api.ReviewSession`
method on the DB thread."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qualcode.errors import InputError, NotFoundError, QualcodeError
from qualcode.review.web import PAGE_SIZE, Web, error_response

__all__ = ["api_routes"]


def api_routes(web: Web) -> list[Route]:
    return _read_routes(web) + _write_routes(web)


def _read_routes(web: Web) -> list[Route]:
    async def api_queue(request: Request) -> Response:
        f = web.filters(request)
        size = request.query_params.get("size", str(PAGE_SIZE))

        def go() -> dict[str, Any]:
            try:
                n = int(size)
            except ValueError:
                raise InputError(f"size must be a whole number; got {size!r}") from None
            return web.session.queue(page=web.page_no(request), size=n, filters=f).to_dict()

        return await web.guarded(go)

    async def api_agreement(request: Request) -> Response:
        return await web.guarded(lambda: web.session.agreement())

    async def api_coding(request: Request) -> Response:
        return await web.guarded(lambda: web.session.coding_detail(request.path_params["coding_id"]))

    async def api_document(request: Request) -> Response:
        return await web.guarded(lambda: web.session.document(request.path_params["doc_id"]))

    return [
        Route("/api/queue", api_queue),
        Route("/api/agreement", api_agreement),
        Route("/api/coding/{coding_id:int}", api_coding),
        Route("/api/document/{doc_id:int}", api_document),
    ]


def _write_routes(web: Web) -> list[Route]:
    async def api_decide(request: Request) -> Response:
        try:
            data = await web.body(request)
            kw = {k: web.int_or_none(data, k) for k in ("coding_id", "segment_id", "document_id", "start", "end")}
        except QualcodeError as exc:
            return error_response(exc)
        return await web.guarded(lambda: {"decisions": web.session.decide(str(data.get("action", "")),
                                                                          code=data.get("code"), **kw)})

    async def api_undo(request: Request) -> Response:
        return await web.guarded(lambda: {"undone": web.session.undo()})

    async def api_codebook(request: Request) -> Response:
        try:
            data = await web.body(request)
        except QualcodeError as exc:
            return error_response(exc)
        what = request.path_params["what"]

        def go() -> dict[str, Any]:
            s = web.session
            if what == "code":
                cb = s.add_code(str(data.get("name", "")), str(data.get("definition", "")))
            elif what == "definition":
                cb = s.edit_definition(str(data.get("name", "")), str(data.get("definition", "")))
            else:
                raise NotFoundError(f"no codebook action {what!r}")
            return {"codebook": cb.name, "version": cb.version, "codes": s.codebook_view()}

        return await web.guarded(go)

    async def api_memo(request: Request) -> Response:
        try:
            data = await web.body(request)
            sid = web.int_or_none(data, "segment_id")
        except QualcodeError as exc:
            return error_response(exc)
        return await web.guarded(lambda: {"memo": web.session.add_memo(str(data.get("text", "")),
                                                                       code=data.get("code") or None,
                                                                       segment_id=sid)})

    return [
        Route("/api/decide", api_decide, methods=["POST"]),
        Route("/api/undo", api_undo, methods=["POST"]),
        Route("/api/codebook/{what}", api_codebook, methods=["POST"]),
        Route("/api/memo", api_memo, methods=["POST"]),
    ]
