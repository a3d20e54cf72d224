"""The event envelope and the names of events, with their versions."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from marshmallow import Schema, fields


class Envelope(Schema):
    id = fields.String(required=True)
    type = fields.String(required=True)
    version = fields.Integer(required=True)
    occurred_at = fields.String(required=True)  # ISO 8601, UTC
    producer = fields.String(required=True)
    payload = fields.Dict(required=True)


def envelope(event_type: str, payload: dict, producer: str, version: int = 1) -> dict:
    return {
        "id": uuid.uuid4().hex,
        "type": event_type,
        "version": version,
        "occurred_at": datetime.now(timezone.utc).isoformat(),
        "producer": producer,
        "payload": payload,
    }


# identity
USER_CREATED = "user_created"
USER_CHANGED = "user_changed"
AUTH_EVENT = "auth_event"  # login, failure, lock-out, refresh reuse, logout, key use


# Where each producer's event schemas live: `EVENTS = {name: Schema}` in each module.
# Imported lazily, so that contracts modules never import each other in a circle.
EVENT_MODULES = (
    "contracts.grid",
    "contracts.cases",
    "contracts.points",
    "contracts.identity",
    "contracts.notify",
)


def event_schemas() -> dict[str, type[Schema]]:
    import importlib

    found: dict[str, type[Schema]] = {}
    for name in EVENT_MODULES:
        found.update(importlib.import_module(name).EVENTS)
    return found


def payload_problems(event_type: str, payload: dict) -> dict:
    """What is wrong with `payload` for its event's schema ({} when it fits or has none)."""
    schema = event_schemas().get(event_type)
    return schema().validate(payload) if schema else {}
