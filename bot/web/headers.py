"""Security headers on every response the web server sends, with a policy suited to each page.

Pages that set their own (the console's stricter policy) keep theirs; the rest get these.
"""

from __future__ import annotations

from aiohttp import web

SERVER = "nongdanso"  # no framework or language versions for scanners to match

_COMMON = "frame-ancestors 'none'; base-uri 'none'"
# Photos may be a platform's https address (a Zalo photo) as well as the bot's own.
# The chat page: its own script and stylesheet, fetches to itself, photos it shows or previews.
CHAT_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https:; "
    "connect-src 'self'; manifest-src 'self'; worker-src 'self'; form-action 'self'; "
    "media-src 'self' https:; " + _COMMON  # voice notes: ours, or Zalo's (a redirect)
)
# Every other page (public listing pages carry an inline <style>): no script at all.
PAGE_CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; "
    "form-action 'self'; " + _COMMON
)
CHAT_PAGES = frozenset({"/", "/chat"})

HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Add the headers a response lacks, just before it is sent."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    csp = CHAT_CSP if request.path in CHAT_PAGES else PAGE_CSP
    response.headers.setdefault("Content-Security-Policy", csp)
    response.headers["Server"] = SERVER


def add_security_headers(app: web.Application) -> None:
    """Give every response the app sends the security headers."""
    # A response-prepare hook rather than a middleware: it also sees static files and the
    # pages aiohttp makes itself (404 for unknown paths, 500 after a crash).
    app.on_response_prepare.append(security_headers)
