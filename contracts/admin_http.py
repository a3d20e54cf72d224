"""Schemas of the operators' fault API: the events a service's consumers could not apply."""

from __future__ import annotations

from marshmallow import Schema, fields

# The services that consume events with the kit's consumer (services/kit/consumer.py) and so
# keep dead letters and expose its `dead_letters` / `replay_dead_letter` RPCs.
CONSUMING_SERVICES = ("cases", "notify", "points")
LETTER_STATES = ("dead", "replayed")


class EventDeadLetterOut(Schema):
    id = fields.String(metadata={"description": "handler:event id, unique per service"})
    service = fields.String()
    handler = fields.String()
    event_type = fields.String(allow_none=True)
    producer = fields.String(allow_none=True)
    error = fields.String(
        metadata={
            "description": "the last failure, or `interrupted N deliveries` when the "
            "handler's process died on every delivery"
        }
    )
    attempts = fields.Integer()
    state = fields.String(metadata={"enum": list(LETTER_STATES)})
    first_failed_at = fields.String(allow_none=True)
    last_failed_at = fields.String(allow_none=True)
    replayed_at = fields.String(allow_none=True)
    replayed_by = fields.String(allow_none=True)
    event = fields.Dict(metadata={"description": "the event envelope, as it arrived"})


class DeadLettersOut(Schema):
    letters = fields.List(fields.Nested(EventDeadLetterOut))
    unavailable = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "service → why it did not answer; its letters are missing"},
    )


class ReplayOut(Schema):
    id = fields.String()
    service = fields.String()
    outcome = fields.String(metadata={"description": "applied | repeat | dead_letter"})
