"""Sign-in: login, refresh (rotating), logout, me."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask_jwt_extended import (
    create_access_token,
    create_refresh_token,
    decode_token,
    get_jwt,
    jwt_required,
)

from contracts.errors import Unauthorized
from contracts.identity import LoginIn, MeOut, TokensOut
from gateway.body import json_body
from gateway.security import authenticated, current_principal, request_meta

bp = Blueprint("auth", __name__, url_prefix="/api/v1/auth")


def _rpc():
    return current_app.extensions["rpc"]


def _tokens(session: dict):
    """Access token with what every endpoint needs to decide; refresh token naming the family."""
    user = session["user"]
    access = create_access_token(
        identity=user["id"],
        additional_claims={
            "roles": user["roles"],
            "scopes": user["scopes"],
            "fam": session["family"],
            "name": user["display_name"],
        },
    )
    refresh = create_refresh_token(
        identity=user["id"], additional_claims={"fam": session["family"], "rjti": session["jti"]}
    )
    expires = current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
    return jsonify(
        TokensOut().dump(
            {
                "access_token": access,
                "refresh_token": refresh,
                "token_type": "Bearer",
                "expires_in": int(expires.total_seconds()),
                "user": user,
            }
        )
    )


@bp.post("/login")
def login():
    """Log in with user name and password.
    ---
    requestBody: LoginIn
    responses: {200: TokensOut, 400: Error, 401: Error, 403: Error, 429: Error}
    """
    data = json_body(LoginIn())
    session = _rpc().call("identity", "login", data["username"], data["password"], request_meta())
    return _tokens(session)


@bp.post("/refresh")
@jwt_required(refresh=True)
def refresh():
    """Swap a refresh token (Authorization: Bearer) for a new pair; the old one is spent.
    ---
    security: refresh
    responses: {200: TokensOut, 401: Error, 403: Error}
    """
    claims = get_jwt()
    session = _rpc().call(
        "identity", "refresh", claims.get("fam", ""), claims.get("rjti", ""), request_meta()
    )
    return _tokens(session)


@bp.post("/logout")
def logout():
    """End the session: access and refresh tokens of this login stop working.
    Accepts the access or the refresh token, even an expired one.
    ---
    security: bearer
    responses: {204: null, 401: Error}
    """
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise Unauthorized()
    claims = decode_token(header[7:].strip(), allow_expired=True)
    _rpc().call("identity", "logout", claims.get("fam", ""), request_meta())
    return "", 204


@bp.get("/me")
@authenticated()
def me():
    """The signed-in user as the identity service knows them now.
    ---
    security: bearer
    responses: {200: MeOut, 401: Error, 403: Error}
    """
    principal = current_principal()
    # the session was checked by the token guard already; `me` need not read it again
    user = _rpc().call("identity", "me", principal.id)
    return jsonify(MeOut().dump({"user": user}))
