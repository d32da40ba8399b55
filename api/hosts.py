"""Never trust Host: the public base URL links are built from, and the Host names the app accepts.

A request's Host header is chosen by whoever sends it; reflected into a CDS card link or the SPARQL
service description it would point clinicians at another server. So every absolute URL the API
writes starts with the configured public base URL, no route redirects (FastAPI's trailing-slash
redirect built its Location from Host), and `HostCheckMiddleware` answers 400 to a Host that is not
on the allowed list, port included: by default the public URL's host and port, and the loopback
names on that port and the port `serve` listens on (Starlette's TrustedHostMiddleware ignored the
port, so `Host: localhost:1` passed). A port of 80 or 443 is the same as none.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import problem_bytes
from api.settings import Settings
from kg.errors import ConfigError, InputError

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
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
    ):
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
    """The Host header values accepted, each `name` (the scheme's default port) or `name:port`: the configured
    list, else the public URL's and the loopback names on its port and on the listening port.

    >>> allowed_hosts(Settings(public_url="https://cds.example.org"))
    ['cds.example.org', 'localhost', '127.0.0.1', '[::1]']
    >>> allowed_hosts(Settings(public_url="http://127.0.0.1:8000"))
    ['127.0.0.1:8000', 'localhost:8000', '[::1]:8000']
    """
    if settings.allowed_hosts:
        if "*" in settings.allowed_hosts:
            raise ConfigError("allowed hosts: '*' would accept any Host header; list the names instead")
        return [normal_host(h) for h in settings.allowed_hosts]
    public = public_url(settings)
    ports = dict.fromkeys([urlsplit(public).port] + ([settings.listen_port] if settings.listen_port else []))
    entries = [normal_host(f"{url_host(public)}:{urlsplit(public).port or ''}")]
    entries += [normal_host(f"{name}:{port or ''}") for port in ports for name in LOOPBACK_NAMES]
    return list(dict.fromkeys(entries))


def normal_host(value: str) -> str:
    """A Host value compared as the server reads it: lower case, no default or empty port.

    >>> normal_host("CDS.example.org:443"), normal_host("[::1]:8000"), normal_host("localhost:")
    ('cds.example.org', '[::1]:8000', 'localhost')
    """
    value = value.strip().lower()
    name, sep, port = value.rpartition(":") if not value.endswith("]") else (value, "", "")
    if not sep or not port or port in ("80", "443"):
        return name if sep else value
    return value


class HostCheckMiddleware:
    """400 for a request whose Host header (name and port) is not one of `allowed`."""

    def __init__(self, app: ASGIApp, allowed: list[str], errors_url: str = "/errors") -> None:
        self.app = app
        self.allowed = frozenset(normal_host(h) for h in allowed)
        self.errors_url = errors_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            hosts = [v for k, v in scope.get("headers") or [] if k == b"host"]
            if len(hosts) != 1 or normal_host(hosts[0].decode("latin-1")) not in self.allowed:
                refusal = InputError("the Host header names no host this server answers for", field="Host")
                status, headers, body = problem_bytes(refusal, self.errors_url)
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
