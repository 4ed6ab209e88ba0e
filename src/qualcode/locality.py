"""Where does text go? ``local`` (stays on this machine) or ``external``.

The decision is made from the literal host only: nothing is resolved, no socket is
opened. A host is local when it is exactly ``localhost`` (any case, no trailing dot), in
127.0.0.0/8 written as a canonical dotted quad, or ``::1`` (also in its IPv4-mapped form
``::ffff:127.x.x.x``). :func:`loopback_address` is that one rule; the guard and the HTTP
client both use it, and the client connects to the very address it returns (``localhost``
is connected as ``127.0.0.1``, never looked up), so what the guard judged is where the
text goes. Everything else is external, including
private LAN addresses (10/8, 172.16/12, 192.168/16, fc00::/7, link-local): a server on
another machine of the office network is still another machine. Spellings that a
resolver might turn into loopback but that are not literally loopback (``127.1``,
``0x7f000001``, ``0.0.0.0``, ``foo.localhost``, ``localhost.`` or ``127.0.0.1.`` with a
trailing dot (a resolver asks DNS for those), a name in ``/etc/hosts``) count as external,
and so does any endpoint with user information (``user@host``: credentials go through
``api_key_env``): when in doubt, the guard refuses.

An in-process backend (no endpoint at all) is local.

Examples
--------
>>> classify_endpoint("http://127.0.0.1:8080/v1")
'local'
>>> classify_endpoint("[::1]:11434")
'local'
>>> classify_endpoint("https://api.openai.com/v1")
'external'
>>> classify_endpoint("192.168.1.20")
'external'
>>> classify_endpoint(None)      # in-process
'local'
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal
from urllib.parse import urlsplit

__all__ = ["LOCAL", "EXTERNAL", "Locality", "classify_endpoint", "endpoint_host", "backend_locality",
           "effective_endpoint", "has_userinfo", "loopback_address"]

LOCAL = "local"
EXTERNAL = "external"
Locality = Literal["local", "external"]

#: endpoint values that mean "no network at all"
IN_PROCESS = {"", "in-process", "inprocess", "in_process"}

_BAD_CHARS = re.compile(r"[\s\\\x00-\x1f\x7f]")


def endpoint_host(url_or_host: str) -> str | None:
    """The literal host of a URL or a ``host[:port]`` string (lower case, no brackets).

    Returns ``None`` when no host can be read unambiguously.

    >>> endpoint_host("http://LocalHost:11434/v1"), endpoint_host("[::1]:8080")
    ('localhost', '::1')
    >>> endpoint_host("http://user@evil.example@127.0.0.1/") is None  # parsers disagree: no host
    True
    """
    s = str(url_or_host).strip()
    if not s:
        return None
    if _BAD_CHARS.search(s):
        return None  # backslashes, whitespace, control characters: parsers disagree
    if "://" in s:
        if has_userinfo(s):
            return None  # user@host: parsers disagree about which part is the host
        try:
            parts = urlsplit(s)
            host = parts.hostname
            _ = parts.port  # a malformed port raises ValueError
        except ValueError:
            return None
        if not host:
            return None
        return host.lower()
    # a bare host, host:port, [v6]:port or a bare IPv6 address
    if s.startswith("["):
        end = s.find("]")
        if end < 0:
            return None
        rest = s[end + 1:]
        if rest and not re.fullmatch(r":\d{1,5}", rest):
            return None
        return s[1:end].lower()
    if s.count(":") >= 2:  # a bare IPv6 address
        return s.lower()
    host, _, port = s.partition(":")
    if port and not port.isdigit():
        return None
    if "/" in host or "@" in host or "?" in host or "#" in host:
        return None
    return host.lower() or None


def has_userinfo(url: str) -> bool:
    """True when the URL's authority holds user information (``user[:pass]@host``).

    >>> has_userinfo("http://u:p@127.0.0.1:8080/v1"), has_userinfo("http://127.0.0.1:8080/v1?next=a@b")
    (True, False)
    """
    s = str(url)
    if "://" not in s:
        return False
    authority = s.split("://", 1)[1]
    for stop in "/?#":
        authority = authority.split(stop, 1)[0]
    return "@" in authority


def loopback_address(host: str | None) -> str | None:
    """The loopback IP address to connect to for ``host``, or ``None`` when ``host`` is
    not literally loopback. The one rule for the whole package (guard and HTTP client).

    ``localhost`` (exactly, any case) gives ``127.0.0.1``; a canonical IPv4 address in
    127.0.0.0/8, ``::1`` or ``::ffff:127.x.x.x`` gives itself. A trailing dot, a zone id,
    a shortened or hex IPv4 form, or any other name gives ``None``: nothing is resolved.

    >>> loopback_address("LOCALHOST"), loopback_address("[::1]"), loopback_address("localhost.")
    ('127.0.0.1', '::1', None)
    """
    if not host:
        return None
    h = str(host).strip()
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    h = h.lower()
    if h == "localhost":
        return "127.0.0.1"
    if not h or h.endswith(".") or "%" in h:  # a trailing dot asks DNS; zone ids are for link-local
        return None
    try:
        ip = ipaddress.ip_address(h)
    except ValueError:
        return None
    if ip.version == 4:
        # only the canonical dotted quad (ipaddress rejects 127.1, octal and hex forms)
        return str(ip) if ip.is_loopback else None
    mapped = ip.ipv4_mapped
    if mapped is not None:
        return str(mapped) if mapped.is_loopback else None
    return str(ip) if ip == ipaddress.IPv6Address("::1") else None


def _is_loopback_literal(host: str) -> bool:
    return loopback_address(host) is not None


def classify_endpoint(url_or_host: str | None) -> Locality:
    """``"local"`` or ``"external"`` for an endpoint URL or host, without any lookup.

    Parameters
    ----------
    url_or_host : str or None
        ``http://127.0.0.1:8080/v1``, ``localhost:11434``, ``[::1]``, ``api.openai.com``...
        ``None`` or ``""`` (or ``"in-process"``) means an in-process backend: local.

    Returns
    -------
    str
        ``"local"`` for localhost, 127.0.0.0/8 and ::1; ``"external"`` for anything
        else, including private LAN ranges and anything that cannot be parsed.
    """
    if url_or_host is None or str(url_or_host).strip().lower() in IN_PROCESS:
        return LOCAL
    host = endpoint_host(str(url_or_host))
    if host is None:
        return EXTERNAL
    return LOCAL if _is_loopback_literal(host) else EXTERNAL


def _proxy_for(url: str) -> str | None:
    """The proxy urllib would send ``url`` through (from the environment), if any.

    Only the environment is consulted (``proxy_bypass_environment`` matches strings,
    it does not resolve names).
    """
    import os
    import urllib.request

    if not any(name[-6:].lower() == "_proxy" for name in os.environ):
        return None  # the only names getproxies_environment reads (a quick path: it runs per request)
    try:
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), parts.hostname or ""
    except ValueError:
        return None
    if scheme not in ("http", "https"):
        return None
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(scheme) or proxies.get("all")
    if not proxy:
        return None
    try:
        if urllib.request.proxy_bypass_environment(host, proxies):
            return None
    except Exception:  # pragma: no cover - defensive
        return proxy
    return proxy


def effective_endpoint(backend: Any) -> str | None:
    """The endpoint text really travels to: the backend's endpoint, the HTTP proxy
    configured in the environment for it (a loopback URL behind a proxy is not local), or
    the backend's request URL when that is not loopback though the endpoint is."""
    endpoint = getattr(backend, "endpoint", None)
    if not endpoint:
        return None
    endpoint = str(endpoint)
    url = str(getattr(backend, "url", None) or endpoint)
    proxy = _proxy_for(url) if "://" in url else None
    if proxy:
        return proxy
    if url != endpoint and classify_endpoint(url) == EXTERNAL and classify_endpoint(endpoint) == LOCAL:
        return url  # the request URL itself is judged, not only the base URL
    return endpoint


def _why(endpoint: str) -> str:
    """Why a loopback-looking endpoint is not taken as loopback (for the message)."""
    if has_userinfo(endpoint):
        return ": it holds user information (user@host), which clients read differently"
    host = endpoint_host(endpoint)
    if host and host.endswith(".") and host.rstrip(".") and loopback_address(host.rstrip(".")):
        return ": with a trailing dot the name is looked up in DNS, which may answer with any machine"
    return ""


def backend_locality(backend: Any) -> tuple[Locality, str | None, str]:
    """Classify a backend. Returns ``(locality, endpoint, reason)``.

    An HTTP backend (one with an ``endpoint``) is local only when that endpoint, after
    any environment proxy, is loopback. A backend without an endpoint is taken at its
    word (its ``locality`` attribute); a missing or unknown attribute counts as external.
    Whichever of the two says external wins.

    A pool of endpoints (a backend with ``members``, :mod:`qualcode.backends.pool`) is
    judged member by member: it is local only when every member is, and the reason names
    the first external one. The endpoint returned lists every member's endpoint.
    """
    members = getattr(backend, "members", None)
    if members:
        return _pool_locality([getattr(m, "backend", m) for m in members])
    declared = str(getattr(backend, "locality", EXTERNAL) or EXTERNAL).lower()
    raw_endpoint = getattr(backend, "endpoint", None)
    endpoint = effective_endpoint(backend)
    if endpoint:
        by_host = classify_endpoint(endpoint)
        if by_host == EXTERNAL:
            url = str(getattr(backend, "url", None) or raw_endpoint)
            if endpoint == raw_endpoint:
                via = ""
            elif endpoint == url:
                via = f" (the request URL of endpoint {raw_endpoint})"
            else:
                via = f" (through the proxy set in the environment for {raw_endpoint})"
            return EXTERNAL, endpoint, f"endpoint {endpoint}{via} is not a loopback address{_why(endpoint)}"
        if declared != LOCAL:
            return EXTERNAL, endpoint, f"the backend declares itself {declared!r}"
        return LOCAL, endpoint, f"endpoint {endpoint} is a loopback address"
    if declared == LOCAL:
        return LOCAL, None, "in-process backend"
    return EXTERNAL, None, f"the backend declares locality {declared!r} and has no loopback endpoint"


def _pool_locality(members: list[Any]) -> tuple[Locality, str | None, str]:
    judged = [backend_locality(m) for m in members]
    endpoint = ",".join(ep or f"in-process:{type(m).__name__}" for m, (_, ep, _) in zip(members, judged))
    for i, (loc, _, why) in enumerate(judged, 1):
        if loc == EXTERNAL:
            return EXTERNAL, endpoint, f"pool endpoint {i} of {len(judged)}: {why}"
    return LOCAL, endpoint, f"all {len(judged)} pool endpoints are local"
