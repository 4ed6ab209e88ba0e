"""The review web app's HTML pages: the queue, a document, the fragments the page
reloads after a decision, and the per-code colours as CSS."""

from __future__ import annotations

import urllib.parse
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qualcode.errors import NotFoundError
from qualcode.review.web import PAGE_SIZE, Web

__all__ = ["page_routes"]


def _context(s: Any) -> dict[str, Any]:
    """What every full page shows: project, run, reviewer, codebook, documents."""
    codes = s.codes

    def codes_index(code: str) -> int:
        return codes.index(code) if code in codes else 0

    return {"project": s.project.name, "run": s.run, "coder": s.coder, "blind": s.blind,
            "codebook": s.codebook_view(), "documents": s.documents(), "codes": codes,
            "codes_index": codes_index}


def page_routes(web: Web) -> list[Route]:
    def queue_html(request: Request) -> str:
        s = web.session
        f = web.filters(request)
        page = s.queue(page=web.page_no(request), size=PAGE_SIZE, filters=f)
        return web.render("queue.html", page=page, filters=f, speakers=s.speakers(), agreement=s.agreement(),
                          query=urllib.parse.urlencode(f), **_context(s))

    def fragment_html(request: Request, which: str) -> str:
        s = web.session
        if which == "queue":
            f = web.filters(request)
            page = s.queue(page=web.page_no(request), size=PAGE_SIZE, filters=f)
            return web.render("_queue.html", page=page, query=urllib.parse.urlencode(f), blind=s.blind,
                              colors=s.code_colors(), codes=s.codes)
        if which == "agreement":
            return web.render("_agreement.html", agreement=s.agreement(), blind=s.blind)
        if which == "codebook":
            return web.render("_codebook.html", codebook=s.codebook_view(), blind=s.blind)
        raise NotFoundError(f"no fragment {which!r}")

    def doc_html(doc_id: int) -> str:
        s = web.session
        return web.render("document.html", doc=s.document(doc_id), agreement=s.agreement(), **_context(s))

    async def index(request: Request) -> Response:
        return await web.guarded(queue_html, request, html=True)

    async def fragment(request: Request) -> Response:
        return await web.guarded(fragment_html, request, request.path_params["which"], html=True)

    async def document(request: Request) -> Response:
        return await web.guarded(doc_html, request.path_params["doc_id"], html=True)

    async def codes_css(request: Request) -> Response:
        colors = await web.worker.call(lambda: web.session.code_colors())
        css = "".join(f".k{i}{{--c:{c}}}\n" for i, c in enumerate(colors.values()))
        return Response(css, media_type="text/css")

    async def favicon(request: Request) -> Response:
        return Response(status_code=204)

    return [
        Route("/", index),
        Route("/favicon.ico", favicon),
        Route("/doc/{doc_id:int}", document),
        Route("/fragment/{which}", fragment),
        Route("/codes.css", codes_css),
    ]
