"""Who is calling, and may they: JWTs for people, API keys for machines.

Every later endpoint protects itself with the decorators here:

    @authenticated()                      # any signed-in user
    @requires_roles("operator")           # one of these roles
    @requires_scope(lambda kw: kw["code"])  # the grid code is inside the caller's scopes
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, g, request
from flask_jwt_extended import JWTManager, get_jwt, verify_jwt_in_request

from contracts.caller import Caller
from contracts.errors import Forbidden
from contracts.scope import in_scope
from gateway.errors import error_response
from gateway.identity_feed import IdentityFeed
from gateway.ratelimit import hit_api_key

API_KEY_HEADER = "X-API-Key"


@dataclass(frozen=True)
class Principal:
    id: str
    roles: tuple[str, ...]
    scopes: tuple[str, ...]
    kind: str = "user"  # "user" | "api_key"
    family: str | None = None
    name: str = ""

    def has_role(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)

    def covers(self, code: str) -> bool:
        return in_scope(code, self.scopes)

    def caller(self) -> Caller:
        """Who the services are told is acting: passed as `caller=` on every RPC."""
        return Caller(self.id, self.roles, self.scopes)


def request_meta() -> dict:
    return {"ip": request.remote_addr, "request_id": g.get("request_id")}


def session_revoked(family: str) -> bool:
    """Has this session family been ended (logout, refresh reuse, the user's rights changed)?

    Answered in the process from identity's announcements when the subscription is healthy,
    else by asking identity (gateway/identity_feed.py). Long-lived answers such as a live
    event stream call it again now and then to close when their session ends.
    """
    return sessions_feed().revoked(family)


def sessions_feed() -> IdentityFeed:
    """This process's view of what identity announced: ended sessions (routes that end some
    use `mark`/`settle`) and users' profiles."""
    return current_app.extensions["identity_feed"]


def install(app) -> JWTManager:
    jwt = JWTManager(app)
    app.extensions["identity_feed"] = IdentityFeed(
        app.config["AMQP_URI"],
        rpc=lambda: app.extensions["rpc"],
        keep=app.config["JWT_ACCESS_TOKEN_EXPIRES"],
        follow=app.config["REVOCATION_FEED"],
    )

    @jwt.token_in_blocklist_loader
    def revoked(_header, payload) -> bool:
        # Logout and refresh-reuse revoke the session family in the identity database,
        # so a revoked access token stays revoked across gateway restarts and workers.
        # Refresh tokens are judged by identity itself when they are presented.
        if payload.get("type") != "access":
            return False
        return session_revoked(payload.get("fam", ""))

    @jwt.expired_token_loader
    def expired(_header, _payload):
        return error_response("token_expired")

    @jwt.invalid_token_loader
    def invalid(reason: str):
        if "refresh" in reason.lower() or "access" in reason.lower():
            return error_response("wrong_token_type")
        return error_response("token_invalid")

    @jwt.unauthorized_loader
    def missing(_reason: str):
        return error_response("unauthorized")

    @jwt.revoked_token_loader
    def revoked_response(_header, _payload):
        return error_response("token_revoked")

    @jwt.needs_fresh_token_loader
    def needs_fresh(_header, _payload):
        return error_response("unauthorized", {"fresh_login_required": True})

    return jwt


def current_principal() -> Principal:
    return g.principal


def current_caller() -> Caller:
    return g.principal.caller()


def load_api_key(key: str) -> Principal:
    """The machine client an API key names (ApiKeyInvalid otherwise), counted against the
    key's rate limit before it is checked: guessing is limited too. Also for adapters that
    take the key elsewhere than the header (Open311's `api_key` field)."""
    hit_api_key(key)
    found = current_app.extensions["rpc"].call("identity", "verify_api_key", key, request_meta())
    g.principal = Principal(
        id=found["id"],
        roles=tuple(found["roles"]),
        scopes=tuple(found["scopes"]),
        kind="api_key",
        name=found["name"],
    )
    return g.principal


def _load_principal(allow_api_key: bool) -> None:
    key = request.headers.get(API_KEY_HEADER)
    if key and allow_api_key:
        load_api_key(key)
        return
    verify_jwt_in_request()
    claims = get_jwt()
    g.principal = Principal(
        id=claims["sub"],
        roles=tuple(claims.get("roles", ())),
        scopes=tuple(claims.get("scopes", ())),
        family=claims.get("fam"),
        name=claims.get("name", ""),
    )


def authenticated(allow_api_key: bool = False):
    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            _load_principal(allow_api_key)
            return view(*args, **kwargs)

        wrapper._auth = {"api_key": allow_api_key}  # read by the OpenAPI builder
        return wrapper

    return decorate


def requires_roles(*roles: str, allow_api_key: bool = False):
    """Signed in, and holding at least one of `roles`; else 403."""

    def decorate(view):
        @authenticated(allow_api_key)
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not current_principal().has_role(*roles):
                raise Forbidden(details={"required_roles": list(roles)})
            return view(*args, **kwargs)

        wrapper._auth = {"api_key": allow_api_key, "roles": roles}
        return wrapper

    return decorate


def requires_scope(code_of: Callable[[dict], str], allow_api_key: bool = False):
    """Signed in, and the code `code_of(view kwargs)` lies inside the caller's scopes; else 403.

    For reads of single records use `visible(code)` instead, which answers 404 so that
    nobody learns what exists outside their grids.
    """

    def decorate(view):
        @authenticated(allow_api_key)
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            code = code_of(kwargs)
            if not current_principal().covers(code):
                raise Forbidden(details={"code": code})
            return view(*args, **kwargs)

        wrapper._auth = {"api_key": allow_api_key, "scope": True}
        return wrapper

    return decorate
