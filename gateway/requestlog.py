"""Request ids and JSON logs: every line a machine can read, every answer traceable."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from datetime import datetime, timezone

from flask import Flask, g, request

REQUEST_ID = "X-Request-ID"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
access_log = logging.getLogger("gateway.access")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "at": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def install(app: Flask) -> None:
    @app.before_request
    def start():
        incoming = request.headers.get(REQUEST_ID, "")
        g.request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def finish(response):
        response.headers[REQUEST_ID] = g.get("request_id", "")
        took = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        if not request.path.startswith("/assets/"):
            access_log.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "fields": {
                        "request_id": g.get("request_id"),
                        "status": response.status_code,
                        "ms": round(took, 1),
                        "path": request.path,
                    }
                },
            )
        return response
