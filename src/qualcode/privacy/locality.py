"""Where does text go? ``local`` (stays on this machine) or ``external``.

The decision is made from the literal host only: nothing is resolved, no socket is
opened. A host is local when it is ``localhost``, in 127.0.0.0/8, or ``::1`` (also in
its IPv4-mapped form ``::ffff:127.x.x.x``). Everything else is external, including
private LAN addresses (10/8, 172.16/12, 192.168/16, fc00::/7, link-local): a server on
another machine of the office network is still another machine. Spellings that a
resolver might turn into loopback but that are not literally loopback (``127.1``,
``0x7f000001``, ``0.0.0.0``, ``foo.localhost``, a name in ``/etc/hosts``) count as
external: when in doubt, the guard refuses.

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
           "effective_endpoint"]

LOCAL = "local"
EXTERNAL = "external"
Locality = Literal["local", "external"]

#: endpoint values that mean "no network at all"
IN_PROCESS = {"", "in-process", "inprocess", "in_process"}

_BAD_CHARS = re.compile(r"[\s\\\x00-\x1f\x7f]")


def endpoint_host(url_or_host: str) -> str | None:
    """The literal host of a URL or a ``host[:port]`` string (lower case, no brackets).

    Returns ``None`` when no host can be read unambiguously.
    """
    s = str(url_or_host).strip()
    if not s:
        return None
    if _BAD_CHARS.search(s):
        return None  # backslashes, whitespace, control characters: parsers disagree
    if "://" in s:
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


def _is_loopback_literal(host: str) -> bool:
    h = host.rstrip(".")
    if h == "localhost":
        return True
    if "%" in h:  # zone ids only make sense for link-local addresses
        return False
    try:
        ip = ipaddress.ip_address(h)
    except ValueError:
        return False
    if ip.version == 4:
        # only the canonical dotted quad (ipaddress rejects 127.1, octal and hex forms)
        return ip.is_loopback
    mapped = ip.ipv4_mapped
    if mapped is not None:
        return mapped.is_loopback
    return ip == ipaddress.IPv6Address("::1")


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
    import urllib.request

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
    """The endpoint text really travels to: the backend's endpoint, or the HTTP proxy
    configured in the environment for it (a loopback URL behind a proxy is not local)."""
    endpoint = getattr(backend, "endpoint", None)
    if not endpoint:
        return None
    endpoint = str(endpoint)
    url = getattr(backend, "url", None) or endpoint
    proxy = _proxy_for(str(url)) if "://" in str(url) else None
    return proxy or endpoint


def backend_locality(backend: Any) -> tuple[Locality, str | None, str]:
    """Classify a backend. Returns ``(locality, endpoint, reason)``.

    An HTTP backend (one with an ``endpoint``) is local only when that endpoint, after
    any environment proxy, is loopback. A backend without an endpoint is taken at its
    word (its ``locality`` attribute); a missing or unknown attribute counts as external.
    Whichever of the two says external wins.
    """
    declared = str(getattr(backend, "locality", EXTERNAL) or EXTERNAL).lower()
    raw_endpoint = getattr(backend, "endpoint", None)
    endpoint = effective_endpoint(backend)
    if endpoint:
        by_host = classify_endpoint(endpoint)
        if by_host == EXTERNAL:
            via = "" if endpoint == raw_endpoint else f" (through the proxy set in the environment for {raw_endpoint})"
            return EXTERNAL, endpoint, f"endpoint {endpoint}{via} is not a loopback address"
        if declared != LOCAL:
            return EXTERNAL, endpoint, f"the backend declares itself {declared!r}"
        return LOCAL, endpoint, f"endpoint {endpoint} is a loopback address"
    if declared == LOCAL:
        return LOCAL, None, "in-process backend"
    return EXTERNAL, None, f"the backend declares locality {declared!r} and has no loopback endpoint"
