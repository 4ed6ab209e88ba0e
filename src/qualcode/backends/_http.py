"""The HTTP transport for model servers: no redirects, and loopback pinned.

- **No redirects.** A 3xx answer is never followed (a loopback server could otherwise
  send the request, with its ``Authorization`` header, anywhere);
  :func:`open_request` raises :class:`RedirectRefused` naming the ``Location``.
- **The address the guard judged.** When the URL's host is literally loopback (by
  :func:`qualcode.locality.loopback_address`, the guard's rule) and no proxy
  applies, the socket connects to that very address: ``localhost`` is connected as
  ``127.0.0.1`` without any lookup, so no resolver, ``/etc/hosts`` entry or DNS answer
  can move the text elsewhere. Other hosts (external endpoints the guard allowed, or a
  proxy from the environment, which the guard judged instead) go through urllib as usual.
"""

from __future__ import annotations

import functools
import http.client
import socket
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from qualcode.locality import _proxy_for, loopback_address

__all__ = ["RedirectRefused", "open_request", "pinned_address"]


class RedirectRefused(Exception):
    """The server answered with a redirect; nothing was sent to its ``Location``."""

    def __init__(self, status: int, location: str) -> None:
        super().__init__(f"HTTP {status} redirect to {location or '(no Location)'}")
        self.status = status
        self.location = location


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        location = str(headers.get("Location") or newurl or "")
        try:
            fp.close()
        except Exception:  # pragma: no cover - closing is best effort
            pass
        raise RedirectRefused(code, location)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, pin: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pin = pin

    def connect(self) -> None:
        self.sock = socket.create_connection((self._pin, self.port), self.timeout, self.source_address)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, pin: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pin = pin

    def connect(self) -> None:
        sock = socket.create_connection((self._pin, self.port), self.timeout, self.source_address)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, pin: str) -> None:
        super().__init__()
        self._pin = pin

    def http_open(self, req: Any) -> Any:
        return self.do_open(functools.partial(_PinnedHTTPConnection, pin=self._pin), req)


class _PinnedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, pin: str) -> None:
        super().__init__()
        self._pin = pin

    def https_open(self, req: Any) -> Any:
        return self.do_open(functools.partial(_PinnedHTTPSConnection, pin=self._pin), req,
                            context=self._context)


def pinned_address(url: str) -> str | None:
    """The loopback address a request to ``url`` connects to, or ``None`` when urllib
    decides (an external host, or a proxy set in the environment for this URL)."""
    if _proxy_for(url):
        return None
    return loopback_address(urlsplit(url).hostname)


def open_request(req: urllib.request.Request, timeout: float) -> Any:
    """``urlopen(req)`` without redirects, pinned to the judged loopback address.

    Raises :class:`RedirectRefused` on a 3xx answer and whatever ``urlopen`` raises
    otherwise (``HTTPError``, ``URLError``, timeouts).
    """
    pin = pinned_address(req.full_url)
    if pin is None:  # built per request: its ProxyHandler reads the environment's proxies when made
        return urllib.request.build_opener(_NoRedirect()).open(req, timeout=timeout)
    return _pinned_opener(pin).open(req, timeout=timeout)


@functools.lru_cache(maxsize=64)
def _pinned_opener(pin: str) -> urllib.request.OpenerDirector:
    """The opener for a loopback address (no proxy, no redirects): built once, as it
    depends on nothing but ``pin``; openers hold no per-request state."""
    return urllib.request.build_opener(_NoRedirect(), urllib.request.ProxyHandler({}), _PinnedHTTPHandler(pin),
                                       _PinnedHTTPSHandler(pin))
