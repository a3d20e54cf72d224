"""The operators' API: users, API keys for machine clients, the authentication audit log,
and the dead letters of every service that consumes events."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from flask import Blueprint, current_app, jsonify, request
from nameko.exceptions import RemoteError

from contracts.admin_http import (
    CONSUMING_SERVICES,
    LETTER_STATES,
    DeadLettersOut,
    ReplayOut,
)
from contracts.errors import NotFound, ValidationFailed
from contracts.events import USER_CHANGED
from contracts.identity import (
    SESSION_REVOKED,
    ApiKeyIn,
    ApiKeyOut,
    AuditOut,
    UserCreateIn,
    UserOut,
    UserUpdateIn,
    ends_sessions,
)
from gateway.body import json_body
from gateway.rpc import ServiceUnavailable
from gateway.security import (
    authenticated,
    current_caller,
    current_principal,
    requires_roles,
    sessions_feed,
)

log = logging.getLogger(__name__)
bp = Blueprint("admin", __name__, url_prefix="/api/v1/admin")
OPERATORS = ("operator",)


def _rpc():
    return current_app.extensions["rpc"]


def _limit(default: int = 100, top: int = 500) -> int:
    try:
        return max(1, min(int(request.args.get("limit", default)), top))
    except ValueError:
        return default


@bp.get("/users")
@requires_roles(*OPERATORS)
def list_users():
    """List users, optionally by role or scope prefix.
    ---
    security: bearer
    parameters: [role, scope, limit]
    responses: {200: [UserOut], 401: Error, 403: Error}
    """
    users = _rpc().call(
        "identity", "list_users", request.args.get("scope"), request.args.get("role"), _limit()
    )
    return jsonify(UserOut(many=True).dump(users))


@bp.post("/users")
@requires_roles(*OPERATORS)
def create_user():
    """Create a user.
    ---
    security: bearer
    requestBody: UserCreateIn
    responses: {201: UserOut, 400: Error, 401: Error, 403: Error, 409: Error}
    """
    data = json_body(UserCreateIn())
    user = _rpc().call("identity", "create_user", data, current_principal().id)
    return jsonify(UserOut().dump(user)), 201


@bp.patch("/users/<user_id>")
@requires_roles(*OPERATORS)
def update_user(user_id: str):
    """Change a user: roles, scopes, password, or disable them (ends their sessions).
    ---
    security: bearer
    requestBody: UserUpdateIn
    responses: {200: UserOut, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    data = json_body(UserUpdateIn())
    heard = sessions_feed().mark()
    user = _rpc().call("identity", "update_user", user_id, data, current_principal().id)
    # answer once this gateway refuses the old tokens (or shows the new profile) too
    ended = ends_sessions(data)
    sessions_feed().settle(heard, user_id=user_id, kind=SESSION_REVOKED if ended else USER_CHANGED)
    return jsonify(UserOut().dump(user))


@bp.get("/api-keys")
@requires_roles(*OPERATORS)
def list_keys():
    """API keys (never the key itself).
    ---
    security: bearer
    responses: {200: [ApiKeyOut], 401: Error, 403: Error}
    """
    return jsonify(ApiKeyOut(many=True).dump(_rpc().call("identity", "list_api_keys")))


@bp.post("/api-keys")
@requires_roles(*OPERATORS)
def create_key():
    """Create an API key for a machine client (12345 hotline, Open311); the key is shown once.
    ---
    security: bearer
    requestBody: ApiKeyIn
    responses: {201: ApiKeyOut, 400: Error, 401: Error, 403: Error}
    """
    data = json_body(ApiKeyIn())
    key = _rpc().call(
        "identity",
        "create_api_key",
        data["name"],
        data["roles"],
        data["scopes"],
        current_principal().id,
    )
    return jsonify(ApiKeyOut().dump(key)), 201


@bp.delete("/api-keys/<key_id>")
@requires_roles(*OPERATORS)
def revoke_key(key_id: str):
    """Revoke an API key at once.
    ---
    security: bearer
    responses: {204: null, 401: Error, 403: Error, 404: Error}
    """
    _rpc().call("identity", "revoke_api_key", key_id, current_principal().id)
    return "", 204


@bp.get("/audit")
@requires_roles(*OPERATORS)
def audit():
    """Authentication events, newest first.
    Login, failure, lock-out, refresh reuse, logout, key use.
    ---
    security: bearer
    parameters: [kind, username, limit]
    responses: {200: [AuditOut], 401: Error, 403: Error}
    """
    entries = _rpc().call(
        "identity",
        "list_audit",
        request.args.get("kind"),
        request.args.get("username"),
        _limit(100, 1000),
    )
    return jsonify(AuditOut(many=True).dump(entries))


def _consumers() -> tuple[str, ...]:
    """The event-consuming services this deployment runs (LIANXIN_SERVICES)."""
    running = current_app.config["SERVICES"]
    return tuple(name for name in CONSUMING_SERVICES if name in running)


def _consumer(name: str) -> str:
    if name not in _consumers():
        raise NotFound(details={"service": name, "services": list(_consumers())})
    return name


@bp.get("/dead-letters")
@requires_roles(*OPERATORS)
def dead_letters():
    """Events a service's consumers could not apply (kept after bounded retries, or after
    their process died on every delivery), newest first. Without `service`: every consuming
    service, asked at once; one that does not answer is named under `unavailable`.
    ---
    security: bearer
    parameters: [service, state, limit]
    responses: {200: DeadLettersOut, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    state = request.args.get("state", "dead")
    if state not in LETTER_STATES:
        raise ValidationFailed(details={"state": [f"one of {', '.join(LETTER_STATES)}"]})
    wanted = request.args.get("service")
    services = (_consumer(wanted),) if wanted else _consumers()
    limit = _limit()
    rpc, caller = _rpc(), current_caller()  # threads below have no request context

    def ask(service: str) -> tuple[str, list | str]:
        try:
            return service, rpc.call(service, "dead_letters", state, limit, caller=caller)
        except ServiceUnavailable as exc:
            return service, exc.reason
        except RemoteError as exc:  # a bug in that service: logged, and the others still shown
            log.error("dead letters of %s: %s %s", service, exc.exc_type, exc.value)
            return service, f"error: {exc.exc_type}"

    letters: list[dict] = []
    unavailable: dict[str, str] = {}
    with ThreadPoolExecutor(max(1, len(services))) as pool:
        for service, found in pool.map(ask, services):
            if isinstance(found, str):
                unavailable[service] = found
            else:
                letters += [{**letter, "service": service} for letter in found]
    letters.sort(key=lambda letter: letter.get("last_failed_at") or "", reverse=True)
    answer = {"letters": letters[:limit], "unavailable": unavailable}
    return jsonify(DeadLettersOut().dump(answer))


@bp.post("/dead-letters/<service>/<path:letter_id>/replay")
@requires_roles(*OPERATORS)
def replay_dead_letter(service: str, letter_id: str):
    """Run a dead letter's handler again on its event (applied once, whatever came before).
    A letter that is not dead (unknown, or replayed already) is 404.
    ---
    security: bearer
    responses: {200: ReplayOut, 401: Error, 403: Error, 404: Error, 503: Error}
    """
    name = _consumer(service)
    done = _rpc().call(name, "replay_dead_letter", letter_id, caller=current_caller())
    return jsonify(ReplayOut().dump({**done, "service": name}))


@bp.get("/whoami")
@authenticated(allow_api_key=True)
def whoami():
    """Which principal this token or API key stands for (checks an API key works).
    ---
    security: [bearer, apiKey]
    responses: {200: null, 401: Error, 403: Error}
    """
    p = current_principal()
    return jsonify(
        {
            "id": p.id,
            "kind": p.kind,
            "name": p.name,
            "roles": list(p.roles),
            "scopes": list(p.scopes),
        }
    )
