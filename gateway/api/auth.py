"""Sign-in: login, refresh (rotating), logout, me.

Two ways to hold the refresh token:
- browsers (the PWA) log in with `"refresh_cookie": true`; the refresh token then lives in an
  HttpOnly, SameSite=Strict cookie sent only to /api/v1/auth (Secure over HTTPS), where no
  script on the page can read it, and refresh/logout take it from there;
- other clients get it in the body and present it as `Authorization: Bearer` to
  /auth/refresh and /auth/logout.
A refresh answers the way the token came: a cookie gets a new cookie, a header a new body.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask_jwt_extended import (
    create_access_token,
    create_refresh_token,
    decode_token,
    get_jwt,
    get_jwt_request_location,
    jwt_required,
)

from contracts.errors import AccountDisabled, RefreshReused, Unauthorized
from contracts.identity import LoginIn, MeOut, TokensOut
from gateway import ratelimit
from gateway.body import json_body
from gateway.security import authenticated, current_principal, request_meta, sessions_feed

bp = Blueprint("auth", __name__, url_prefix="/api/v1/auth")


def _rpc():
    return current_app.extensions["rpc"]


def _cookie_args() -> dict:
    config = current_app.config
    return {
        "path": config["JWT_REFRESH_COOKIE_PATH"],
        "secure": request.is_secure,
        "httponly": True,
        "samesite": "Strict",
    }


def _tokens(session: dict, in_cookie: bool = False):
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
    config = current_app.config
    answer = {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": int(config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds()),
        "user": user,
    }
    if not in_cookie:
        answer["refresh_token"] = refresh
    response = jsonify(TokensOut().dump(answer))
    if in_cookie:
        lifetime = int(config["JWT_REFRESH_TOKEN_EXPIRES"].total_seconds())
        response.set_cookie(
            config["JWT_REFRESH_COOKIE_NAME"], refresh, max_age=lifetime, **_cookie_args()
        )
    return response


@bp.post("/login")
@ratelimit.login_per_ip
@ratelimit.login_failures_per_ip
@ratelimit.login_per_account
def login():
    """Log in with user name and password.
    Unknown, disabled and locked accounts answer alike (see the README, Security).
    ---
    requestBody: LoginIn
    responses: {200: TokensOut, 400: Error, 401: Error, 429: Error}
    """
    data = json_body(LoginIn())
    session = _rpc().call("identity", "login", data["username"], data["password"], request_meta())
    return _tokens(session, in_cookie=data["refresh_cookie"])


@bp.post("/refresh")
@ratelimit.refresh_per_ip
@jwt_required(refresh=True, locations=["headers", "cookies"])
def refresh():
    """Swap a refresh token for a new pair; the old one is spent.
    The token comes as Authorization: Bearer, or as the refresh cookie (browsers).
    ---
    security: refresh
    responses: {200: TokensOut, 401: Error, 403: Error, 429: Error}
    """
    claims = get_jwt()
    family = claims.get("fam", "")
    heard = sessions_feed().mark()
    try:
        session = _rpc().call("identity", "refresh", family, claims.get("rjti", ""), request_meta())
    except (RefreshReused, AccountDisabled):
        sessions_feed().settle(heard, family=family)  # the family was just ended
        raise
    return _tokens(session, in_cookie=get_jwt_request_location() == "cookies")


@bp.post("/logout")
def logout():
    """End the session: access and refresh tokens of this login stop working.
    Accepts the access or the refresh token (header) or the refresh cookie, even expired.
    ---
    security: bearer
    responses: {204: null, 401: Error}
    """
    header = request.headers.get("Authorization", "")
    cookie = request.cookies.get(current_app.config["JWT_REFRESH_COOKIE_NAME"])
    if header.startswith("Bearer "):
        token = header[7:].strip()
    elif cookie:
        token = cookie
    else:
        raise Unauthorized()
    claims = decode_token(token, allow_expired=True)
    family = claims.get("fam", "")
    heard = sessions_feed().mark()
    if _rpc().call("identity", "logout", family, request_meta()):
        sessions_feed().settle(heard, family=family)
    response = current_app.response_class(status=204)
    response.delete_cookie(current_app.config["JWT_REFRESH_COOKIE_NAME"], **_cookie_args())
    return response


@bp.get("/me")
@authenticated()
def me():
    """The signed-in user as the identity service knows them now.
    ---
    security: bearer
    responses: {200: MeOut, 401: Error, 403: Error}
    """
    principal = current_principal()
    # The token says who is asking and the guard checked its session in this process
    # (security.session_revoked); the profile is the one identity last announced, read
    # through the RPC only when this process has not heard of the user yet.
    user = sessions_feed().profile(
        principal.id, lambda: _rpc().call("identity", "me", principal.id)
    )
    return jsonify(MeOut().dump({"user": user}))
