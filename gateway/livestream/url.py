"""Where the live stream is, as the API tells the PWA and the page's policy allows it.

The stream runs as its own app under an async worker (gateway/livestream/app.py), on its own
port (`STREAM_PORT`, default 8001). In production a reverse proxy serves it under the same
origin as the API (`STREAM_URL=/api/v1/stream`); without one (`make run`, the tests) it is
`<scheme>://<this host>:STREAM_PORT/api/v1/stream`, and the page's Content-Security-Policy
names that origin in `connect-src`.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from flask import current_app, request

PATH = "/api/v1/stream"


def stream_url() -> str:
    configured = current_app.config.get("STREAM_URL") or os.environ.get("STREAM_URL")
    if configured:
        return configured
    port = current_app.config.get("STREAM_PORT") or os.environ.get("STREAM_PORT") or "8001"
    host = urlsplit(f"//{request.host}").hostname or "127.0.0.1"
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return f"{request.scheme}://{host}:{port}{PATH}"


def stream_origin() -> str:
    """The stream's origin when it is not this one ('' when the stream is same-origin)."""
    url = stream_url()
    parts = urlsplit(url)
    if not parts.netloc:
        return ""
    origin = f"{parts.scheme}://{parts.netloc}"
    return "" if origin == f"{request.scheme}://{request.host}" else origin
