"""Read a JSON body strictly: wrong content, bad JSON, unknown or missing fields are 400s."""

from __future__ import annotations

import json

from flask import request
from marshmallow import Schema

from contracts.errors import InvalidJson


def json_body(schema: Schema) -> dict:
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise InvalidJson(details={"body": "empty; send a JSON object"})
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidJson(details={"body": f"not JSON: {exc}"}) from exc
    if not isinstance(data, dict):
        raise InvalidJson(details={"body": "expected a JSON object"})
    return schema.load(data)
