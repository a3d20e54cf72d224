"""The live stream (SSE) of notifications: its own app under an async worker (see app.py)."""

from __future__ import annotations

from pathlib import Path


def serve_command(bin_dir: Path, port: int) -> list[str]:
    """How the stream is served: one gevent worker holds thousands of open streams."""
    return [
        str(bin_dir / "gunicorn"),
        "--bind",
        f"127.0.0.1:{port}",
        "--worker-class",
        "gevent",
        "--workers",
        "1",
        "--worker-connections",
        "2000",
        "--timeout",
        "60",
        "--graceful-timeout",
        "5",
        "gateway.livestream.wsgi:app",
    ]
