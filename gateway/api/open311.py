"""Open311 GeoReport v2 at /open311/v2: an adapter over the cases service, so the 12345
hotline and any Open311 client can read the categories, send reports and follow them.

Every resource answers in the format its name ends with (`.json` or `.xml`). Reading needs
no key; POSTing a request needs an `api_key` (form field, or the X-API-Key header) of a
client allowed to take reports (role `hotline`, or an operator). Errors are the standard's
list of {code, description} with the same HTTP status: 400 bad or missing parameters, 403 a
missing or invalid api_key, 404 an unknown service_code, request or token. The mapping
itself lives in contracts/open311.py; no GeoReport word reaches the cases service.

Beyond the standard, as common servers do: GET requests pages with `page` (from 1) and
`page_size` (at most 1000, the standard's cap, which is also the default).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, Response, current_app, json, request
from werkzeug.exceptions import HTTPException

from contracts import open311 as o
from contracts.errors import (
    ApiKeyInvalid,
    Forbidden,
    LianxinError,
    NotFound,
    ValidationFailed,
    message_of,
    status_of,
)
from contracts.roles import CASE_INTAKE_CLIENTS
from gateway.errors import language
from gateway.rpc import ServiceUnavailable
from gateway.security import API_KEY_HEADER, load_api_key

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
NOTICE = "已受理，将按该类问题的办理时限处理；可凭 service_request_id 查询进度"


class Open311Error(Exception):
    def __init__(self, status: int, *descriptions: str):
        super().__init__(status, descriptions)
        self.status = status
        self.descriptions = descriptions or ("error",)


def _format(fmt: str) -> str:
    if fmt not in o.FORMATS:
        raise Open311Error(404, f"format {fmt!r} is not served; use json or xml")
    return fmt


def _answer(root: str, data, fmt: str, status: int = 200) -> Response:
    if fmt == "xml":
        body = o.to_xml(root, data)
        mimetype = "text/xml"
    else:
        body = json.dumps(data, ensure_ascii=False).encode()
        mimetype = "application/json"
    response = Response(body, status=status, mimetype=mimetype)
    response.headers["Content-Type"] = f"{mimetype}; charset=utf-8"
    return response


def _fmt_of_request() -> str:
    path = request.path
    return "xml" if path.endswith(".xml") else "json"


@bp.errorhandler(Open311Error)
def _open311_error(exc: Open311Error):
    return _answer("errors", o.errors(exc.status, exc.descriptions), _fmt_of_request(), exc.status)


@bp.errorhandler(LianxinError)
def _named(exc: LianxinError):
    status = status_of(exc.code)
    if isinstance(exc, ApiKeyInvalid):
        status = 403  # the standard: a missing or invalid api_key is 403
    descriptions = [message_of(exc.code, language(), exc.details)]
    if isinstance(exc, ValidationFailed) and isinstance(exc.details, dict):
        descriptions += [f"{field}: {problem}" for field, problem in exc.details.items()]
    return _answer("errors", o.errors(status, descriptions), _fmt_of_request(), status)


@bp.errorhandler(ServiceUnavailable)
def _unavailable(_exc: ServiceUnavailable):
    text = message_of("service_unavailable", language())
    return _answer("errors", o.errors(503, [text]), _fmt_of_request(), 503)


@bp.errorhandler(HTTPException)
def _http(exc: HTTPException):
    status = exc.code or 400
    return _answer("errors", o.errors(status, [exc.name]), _fmt_of_request(), status)


def cases(method: str, *args, **kwargs):
    return current_app.extensions["rpc"].call("cases", method, *args, **kwargs)


def _found(method: str, key: str, what: str) -> dict:
    """The one record `method` answers for `key`, or the standard's 404 naming `what`."""
    try:
        return cases(method, key)
    except NotFound:
        raise Open311Error(404, f"{what} {key!r} was not found") from None


def _jurisdiction() -> None:
    """One jurisdiction is served: a client naming another one is told so."""
    asked = request.values.get("jurisdiction_id")
    ours = current_app.config.get("OPEN311_JURISDICTION", "lianxin")
    if asked and asked != ours:
        raise Open311Error(404, f"jurisdiction_id {asked!r} is not served here (use {ours!r})")


# --- discovery and services ---------------------------------------------------------------
@bp.get("/discovery.<fmt>")
def discovery(fmt: str):
    """Service discovery: where this GeoReport v2 endpoint is and what it speaks."""
    fmt = _format(fmt)
    base = request.url_root.rstrip("/") + bp.url_prefix
    data = {
        "changeset": "2026-03-01T00:00:00Z",
        "contact": current_app.config.get("OPEN311_CONTACT", "12345 政务服务热线"),
        "key_service": "向平台运维申请 API 密钥（角色：热线系统接入）",
        "endpoints": [
            {
                "specification": o.SPECIFICATION,
                "url": base,
                "changeset": "2026-03-01T00:00:00Z",
                "type": "production",
                "formats": list(o.FORMATS.values()),
            }
        ],
    }
    return _answer("discovery", data, fmt)


@bp.get("/services.<fmt>")
def services(fmt: str):
    """Every category in use as a service."""
    fmt = _format(fmt)
    _jurisdiction()
    return _answer("services", [o.service(c) for c in cases("list_categories")], fmt)


@bp.get("/services/<code>.<fmt>")
def service_definition(code: str, fmt: str):
    """A category's extra fields (the service definition)."""
    fmt = _format(fmt)
    _jurisdiction()
    category = _found("get_category", code, "service_code")
    if category.get("retired"):
        raise Open311Error(404, f"service_code {code!r} is retired")
    return _answer("service_definition", o.definition(category), fmt)


# --- requests -------------------------------------------------------------------------------
@bp.post("/requests.<fmt>")
def post_request(fmt: str):
    """A new report (application/x-www-form-urlencoded, as the standard sends it)."""
    fmt = _format(fmt)
    _jurisdiction()
    form = request.form
    key = form.get("api_key") or request.headers.get(API_KEY_HEADER)
    if not key:
        raise Open311Error(403, "api_key was not provided")
    principal = load_api_key(key)
    if not principal.has_role(*CASE_INTAKE_CLIENTS):
        raise Forbidden(details={"api_key": "this key may not submit requests"})
    data = _report_of(form)
    client_id = request.headers.get("Idempotency-Key") or None
    case = cases("report", data, client_id, caller=principal.caller())
    return _answer("service_requests", [o.created(case, NOTICE)], fmt)


def _report_of(form) -> dict:
    missing = [f for f in ("service_code",) if not form.get(f)]
    if missing:
        raise Open311Error(400, *(f"{f} is required" for f in missing))
    data: dict = {"category": form["service_code"], "source": "open311"}
    lat, lon = form.get("lat"), form.get("long")
    if lat or lon:
        try:
            data["location"] = {"lat": float(lat or ""), "lon": float(lon or "")}
        except ValueError:
            raise Open311Error(400, "lat and long must both be decimal degrees") from None
    elif form.get("address_id"):
        data["grid_code"] = form["address_id"]  # this system's address ids are grid codes
    else:
        raise Open311Error(
            400,
            "a location is required: lat and long, or address_id (a grid code); "
            "address_string alone cannot be located here",
        )
    description = (form.get("description") or "").strip()
    if form.get("address_string"):
        description = f"{description}\n地址：{form['address_string']}".strip()
    if form.get("media_url"):
        description = f"{description}\n图片链接：{form['media_url']}".strip()
    data["description"] = description or "（未填写描述）"
    if form.get("address_string"):
        data["address"] = form["address_string"][:200]
    contact = {
        "name": " ".join(p for p in (form.get("first_name"), form.get("last_name")) if p),
        "phone": form.get("phone"),
        "email": form.get("email"),
    }
    contact = {k: v for k, v in contact.items() if v}
    if contact:
        data["contact"] = contact
    attributes = o.attributes_of(request.form.to_dict(flat=False))
    if attributes:
        data["attributes"] = attributes
    return data


@bp.get("/requests.<fmt>")
def get_requests(fmt: str):
    """Requests, newest first: by service_request_id (comma-separated, overrides the rest),
    or by service_code, start_date, end_date (W3C; default the last 90 days) and status
    (open, closed); paged with page and page_size."""
    fmt = _format(fmt)
    _jurisdiction()
    args = request.args
    page = _int(args.get("page"), "page", 1, 1_000_000, 1)
    size = _int(args.get("page_size"), "page_size", 1, o.MAX_REQUESTS, o.MAX_REQUESTS)
    filters: dict = {"skip": (page - 1) * size, "limit": size}
    if args.get("service_request_id"):
        filters["numbers"] = _list(args["service_request_id"])[: o.MAX_REQUESTS]
    else:
        if args.get("service_code"):
            filters["categories"] = _list(args["service_code"])
        start, end = (
            _date(args.get("start_date"), "start_date"),
            _date(args.get("end_date"), "end_date"),
        )
        if start and end and start > end:
            raise Open311Error(400, "end_date is before start_date")
        if not start and not end:
            start = datetime.now(UTC) - timedelta(days=o.DEFAULT_DAYS)
        filters["start"] = start.isoformat() if start else None
        filters["end"] = end.isoformat() if end else None
        if args.get("status"):
            status = _list(args["status"])
            bad = [s for s in status if s not in ("open", "closed")]
            if bad:
                raise Open311Error(400, f"status must be open and/or closed, not {bad}")
            filters["status"] = status
    found = cases("public_cases", filters)
    return _answer("service_requests", [o.request(c) for c in found], fmt)


@bp.get("/requests/<request_id>.<fmt>")
def get_request(request_id: str, fmt: str):
    fmt = _format(fmt)
    _jurisdiction()
    case = _found("public_case", request_id, "service_request_id")
    return _answer("service_requests", [o.request(case)], fmt)


@bp.get("/tokens/<token_id>.<fmt>")
def get_token(token_id: str, fmt: str):
    """The request a token (from POST requests) stands for."""
    fmt = _format(fmt)
    _jurisdiction()
    case = _found("public_case", token_id, "token")
    if case["id"] != token_id:
        raise Open311Error(404, f"token {token_id!r} was not found")
    return _answer("service_requests", [o.token(case)], fmt)


def _list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _int(value, name: str, low: int, high: int, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise Open311Error(400, f"{name} must be a whole number") from None
    if not low <= number <= high:
        raise Open311Error(400, f"{name} must be between {low} and {high}")
    return number


def _date(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(
            400, f"{name} must be a W3C date-time, e.g. 2026-03-01T00:00:00Z"
        ) from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)
