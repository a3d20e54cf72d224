"""Security headers on every answer, and no caching of personal data.

- The app shell and its files: a Content-Security-Policy that allows only this origin's
  scripts, styles, images, workers and connections (the PWA builds its DOM with
  createElement and sets styles through CSSOM, so it needs no 'unsafe-inline'), and that no
  other site may frame it.
- API answers: a policy that allows nothing at all (JSON is never a document to render).
- Everywhere: X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer,
  X-Frame-Options: DENY (for browsers older than frame-ancestors), and HSTS over HTTPS.
- API answers are `Cache-Control: no-store` unless the route chose otherwise (the public
  notice board may be cached): browsers, proxies and the back-forward cache keep no copy of
  personal data. The one deliberate copy is the PWA's offline store (the service worker's
  API cache and IndexedDB), which the app clears at logout.
A route that needs another policy (the API docs page with its inline script) sets its own
Content-Security-Policy; it is kept.
"""

from __future__ import annotations

from flask import Flask, request

from gateway.livestream.url import stream_origin

APP_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
API_PREFIXES = ("/api/", "/open311/")

COMMON = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def install(app: Flask) -> None:
    @app.after_request
    def secure(response):
        api = request.path.startswith(API_PREFIXES)
        for name, value in COMMON.items():
            response.headers.setdefault(name, value)
        policy = API_POLICY
        if not api:  # the page may also reach the live stream's origin (gateway/livestream)
            policy = APP_POLICY.replace(
                "connect-src 'self'", f"connect-src 'self' {stream_origin()}".rstrip()
            )
        response.headers.setdefault("Content-Security-Policy", policy)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if api and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response
