"""Never trust Host: the public base URL links are built from, and the Host names the app accepts.

A request's Host header is chosen by whoever sends it; reflected into a CDS card link or the SPARQL
service description it would point clinicians at another server. So every absolute URL the API
writes starts with the configured public base URL, and Starlette's TrustedHostMiddleware answers
400 to a Host that is not on the allowed list (by default the public URL's host and the loopback
names; tests add `testserver`, the TestClient's name, explicitly).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from api.settings import ConfigError, Settings

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def public_url(settings: Settings) -> str:
    """The configured public base URL without a trailing slash; checked to be a plain http(s) base URL.

    >>> public_url(Settings(public_url="https://cds.example.org/tkg/"))
    'https://cds.example.org/tkg'
    >>> public_url(Settings())
    'http://127.0.0.1:8000'
    """
    url = settings.public_url or DEFAULT_PUBLIC_URL
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
            or parts.username or parts.password:
        raise ConfigError(f"public URL {url[:200]!r}: expected http(s)://host[:port][/path], no query or user")
    return url.rstrip("/")


def url_host(url: str) -> str:
    """The host of a URL as a Host header names it (IPv6 literals in brackets).

    >>> url_host("http://[::1]:8000/x"), url_host("https://CDS.example.org")
    ('[::1]', 'cds.example.org')
    """
    host = urlsplit(url).hostname or ""
    return f"[{host}]" if ":" in host else host


def allowed_hosts(settings: Settings) -> list[str]:
    """The Host names accepted: the configured list, else the public URL's host and the loopback names.

    >>> allowed_hosts(Settings(public_url="https://cds.example.org"))
    ['cds.example.org', 'localhost', '127.0.0.1', '[::1]']
    """
    if settings.allowed_hosts:
        if "*" in settings.allowed_hosts:
            raise ConfigError("allowed hosts: '*' would accept any Host header; list the names instead")
        return list(settings.allowed_hosts)
    names = [url_host(public_url(settings))]
    return names + [name for name in LOOPBACK_NAMES if name not in names]
