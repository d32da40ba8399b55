"""The Content-Security-Policy of the pages a person opens (`/docs`, `/redoc`, the SPARQL editor).

Their scripts are served by this service, and none of them needs another origin; but ReDoc's bundle shows a
"by Redocly" logo from cdn.redoc.ly, unconditionally (no option turns it off). The policy makes "nothing leaves
this server" the browser's rule rather than each script's habit: every HTML response says that scripts,
styles, images, fonts, connections and workers come from this origin only, and no inline script runs (inline
styles do: the bundles set them), so that logo, or anything a future bundle adds, is blocked before it is
requested. JSON and RDF responses are not pages and carry no policy.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)


class PagePolicyMiddleware:
    """Adds POLICY to every HTML and SVG response (an SVG opened on its own is a document that may script)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if content_type.lower().startswith((b"text/html", b"image/svg+xml")):  # an SVG is a page too
                    headers.append((b"content-security-policy", POLICY.encode()))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_policy)
