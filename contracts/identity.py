"""Schemas of the identity API: what the gateway accepts and what it answers."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from contracts.roles import ROLES

ROLE_CHOICES = list(ROLES)

# Sessions ended (logout, a spent refresh token presented again, the user's roles, scopes,
# password or status changed). Every gateway process follows it to refuse their access
# tokens at once without asking identity on each request (gateway/revocations.py).
SESSION_REVOKED = "session_revoked"


def ends_sessions(changes: dict) -> bool:
    """A change to a user after which all their sessions must sign in again: tokens carry
    roles and scopes, so new rights or a new reach need new tokens; so do a new password and
    a disabled account. Identity ends them; the gateway waits until it has heard so."""
    return bool(changes.get("disabled")) or bool(changes.keys() & {"roles", "scopes", "password"})


SCOPE = fields.String(validate=validate.Regexp(r"^[0-9]{2,12}(-[0-9A-Za-z]{1,8})*$"))


class LoginIn(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256))
    refresh_cookie = fields.Boolean(
        load_default=False,
        metadata={
            "description": "true (browsers): the refresh token comes back as an HttpOnly "
            "cookie for /api/v1/auth only, not in the body"
        },
    )


class UserOut(Schema):
    id = fields.String()
    username = fields.String()
    display_name = fields.String()
    roles = fields.List(fields.String())
    scopes = fields.List(fields.String())
    phone = fields.String(allow_none=True)
    disabled = fields.Boolean()


class TokensOut(Schema):
    access_token = fields.String()
    refresh_token = fields.String(
        metadata={"description": "absent when it was set as the refresh cookie"}
    )
    token_type = fields.String()
    expires_in = fields.Integer()
    user = fields.Nested(UserOut)


class MeOut(Schema):
    user = fields.Nested(UserOut)


class UserCreateIn(Schema):
    username = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.\-]{3,64}$"))
    password = fields.String(required=True, validate=validate.Length(min=8, max=256))
    display_name = fields.String(validate=validate.Length(min=1, max=64))
    phone = fields.String(validate=validate.Regexp(r"^\+?[0-9\-]{5,20}$"))
    roles = fields.List(
        fields.String(validate=validate.OneOf(ROLE_CHOICES)),
        required=True,
        validate=validate.Length(min=1),
    )
    scopes = fields.List(SCOPE, load_default=list)


class UserUpdateIn(Schema):
    password = fields.String(validate=validate.Length(min=8, max=256))
    display_name = fields.String(validate=validate.Length(min=1, max=64))
    phone = fields.String(validate=validate.Regexp(r"^\+?[0-9\-]{5,20}$"))
    roles = fields.List(
        fields.String(validate=validate.OneOf(ROLE_CHOICES)), validate=validate.Length(min=1)
    )
    scopes = fields.List(SCOPE)
    disabled = fields.Boolean()


class ApiKeyIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    roles = fields.List(
        fields.String(validate=validate.OneOf(ROLE_CHOICES)),
        required=True,
        validate=validate.Length(min=1),
    )
    scopes = fields.List(SCOPE, load_default=list)


class ApiKeyOut(Schema):
    id = fields.String()
    name = fields.String()
    prefix = fields.String()
    key = fields.String(metadata={"description": "shown once, at creation"})
    roles = fields.List(fields.String())
    scopes = fields.List(fields.String())
    created_at = fields.String(allow_none=True)
    last_used_at = fields.String(allow_none=True)
    revoked_at = fields.String(allow_none=True)


class AuditOut(Schema):
    id = fields.String()
    at = fields.String()
    kind = fields.String()
    user_id = fields.String(allow_none=True)
    username = fields.String(allow_none=True)
    ip = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    actor = fields.String(allow_none=True)
    detail = fields.Dict()


class EchoIn(Schema):
    client_id = fields.String(required=True, validate=validate.Length(min=8, max=64))
    payload = fields.Raw(load_default=None)


class SessionRevoked(Schema):
    families = fields.List(fields.String(), required=True)
    user_id = fields.String(allow_none=True, required=True)
    reason = fields.String(required=True)
    revoked_at = fields.String(required=True)  # ISO 8601, UTC


class RevokedSession(Schema):
    family = fields.String(required=True)
    revoked_at = fields.String(required=True)


EVENTS = {SESSION_REVOKED: SessionRevoked}
