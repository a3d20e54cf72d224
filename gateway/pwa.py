"""Serve the built PWA: static files, the service worker at the root, and index.html for
client-side routes."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory

bp = Blueprint("pwa", __name__)
NO_CACHE = {"Cache-Control": "no-cache"}


def _dist() -> Path:
    return Path(current_app.config["PWA_DIST"])


@bp.get("/", defaults={"path": ""})
@bp.get("/<path:path>")
def serve(path: str):
    if path.startswith(("api/", "open311/")):
        abort(404)
    dist = _dist()
    target = dist / path
    if path and target.is_file():
        response = send_from_directory(dist, path)
        if path.startswith("assets/"):  # content-hashed names: cache for a year
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        else:
            response.headers.update(NO_CACHE)
        return response
    if "." in path.rsplit("/", 1)[-1] or not (dist / "index.html").is_file():
        abort(404)  # a missing file is a 404, not the app shell
    response = send_from_directory(dist, "index.html")
    response.headers.update(NO_CACHE)
    return response
