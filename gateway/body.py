"""Read a JSON body strictly: wrong content, bad JSON, unknown or missing fields are 400s.

One parser for every route: `json_body(schema)` and Flask's own `request.get_json()` (the app's
JSON provider is `StrictJSON`) both refuse, with a 400 that names the problem,
- text that is not JSON, or not UTF-8;
- JSON nested deeper than MAX_DEPTH (Python's parser would hit its recursion limit: a 500);
- a lone UTF-16 surrogate such as "\\ud800" in a key or a string: valid JSON, but no UTF-8
  text can hold it, so it fails later, at the database, the broker or the answer;
- an object made of exactly the keys `__type__` and `__value__`: kombu's JSON codec, which
  carries RPC arguments to the services, would turn it into a typed object on their side.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from marshmallow import Schema

from contracts.errors import InvalidJson

MAX_DEPTH = 64  # deeper than any document the API takes; far below the parser's limit
KOMBU_TYPED = frozenset({"__type__", "__value__"})


def _has_surrogate(text: str) -> bool:
    # A UTF-8 round trip is the fast check; only strings that fail it are looked at again.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _where(path: list) -> str:
    return "body" + "".join(f"[{p!r}]" if isinstance(p, str) else f"[{p}]" for p in path)


def check_tree(data: Any) -> None:
    """Walk the parsed document once (iteratively: depth is what we are guarding against)."""
    stack: list[tuple[Any, list]] = [(data, [])]
    while stack:
        value, path = stack.pop()
        if len(path) > MAX_DEPTH:
            raise InvalidJson(details={"body": f"nested deeper than {MAX_DEPTH} levels"})
        if isinstance(value, str):
            if _has_surrogate(value):
                raise InvalidJson(
                    details={_where(path): "contains a lone UTF-16 surrogate (not valid text)"}
                )
        elif isinstance(value, dict):
            if value.keys() == KOMBU_TYPED:
                raise InvalidJson(
                    details={_where(path): "an object of only __type__ and __value__ is refused"}
                )
            for key, item in value.items():
                if _has_surrogate(key):
                    raise InvalidJson(
                        details={_where(path): "a key contains a lone UTF-16 surrogate"}
                    )
                stack.append((item, [*path, key]))
        elif isinstance(value, list):
            stack.extend((item, [*path, i]) for i, item in enumerate(value))


def loads_strict(raw: bytes | str) -> Any:
    """Parse a request body; every problem is an InvalidJson (400) that says what is wrong."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidJson(details={"body": f"not UTF-8: {exc}"}) from exc
    if not raw.strip():
        raise InvalidJson(details={"body": "empty; send a JSON object"})
    try:
        data = json.loads(raw)
    except RecursionError as exc:
        raise InvalidJson(details={"body": f"nested deeper than {MAX_DEPTH} levels"}) from exc
    except ValueError as exc:
        raise InvalidJson(details={"body": f"not JSON: {exc}"}) from exc
    check_tree(data)
    return data


class StrictJSON(DefaultJSONProvider):
    """The app's JSON provider: `request.get_json()` parses as strictly as `json_body`."""

    ensure_ascii = False  # Chinese stays readable in answers

    def loads(self, s: str | bytes, **_kwargs: Any) -> Any:
        return loads_strict(s)


def json_body(schema: Schema) -> dict:
    # force: a client that forgot the Content-Type still gets its body read (or a clear 400)
    data = request.get_json(force=True, cache=True)
    if not isinstance(data, dict):
        raise InvalidJson(details={"body": "expected a JSON object"})
    return schema.load(data)


def install(app: Flask) -> None:
    app.json = StrictJSON(app)

    @app.before_request
    def refuse_bad_json():
        # Every route, whether or not it reads its body: a JSON body that no service could
        # carry is refused here, before any guard or view sees it.
        if request.is_json and request.content_length:
            request.get_json(cache=True)
