"""Bulk import and export of the grid registry: grids as GeoJSON; households, places and
staff as CSV (UTF-8, UTF-8 with BOM or GBK) or XLSX.

Imports need a grid admin role. A file is applied whole or not at all: with
any bad row the answer is a 400 whose details are the report naming every bad row, and
nothing is written. Importing the same file again changes nothing. Uploads may be up to
20 MiB (the rest of the API keeps the 2 MiB limit).
"""

from __future__ import annotations

import base64

from flask import Blueprint, Response, jsonify, request

from contracts.errors import LianxinError, ValidationFailed
from contracts.grid_http import (
    EXPORT_FORMATS,
    IMPORT_KINDS,
    ExportQuery,
    ImportQuery,
    ImportReportOut,
)
from contracts.roles import GRID_ADMINS, GRID_KEEPERS
from gateway.api.grid_access import query, slow_grid
from gateway.security import current_caller, requires_roles

bp = Blueprint("grid_import", __name__, url_prefix="/api/v1")
MAX_IMPORT_BYTES = 20 * 1024 * 1024
DEFAULT_NAMES = {"grids": "grids.geojson"}


class PayloadTooLarge(LianxinError):
    code = "payload_too_large"


def _kind(kind: str) -> str:
    if kind not in IMPORT_KINDS:
        raise ValidationFailed(details={"kind": f"one of {list(IMPORT_KINDS)}"})
    return kind


def _upload(kind: str, args: dict) -> tuple[str, bytes]:
    """(file name, content) of a multipart `file` field or of the raw request body."""
    if (request.content_length or 0) > MAX_IMPORT_BYTES:
        raise PayloadTooLarge(details={"max_bytes": MAX_IMPORT_BYTES})
    request.max_content_length = MAX_IMPORT_BYTES  # per request (Flask 3.1)
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise ValidationFailed(details={"file": "send the file in the form field 'file'"})
        content = upload.read(MAX_IMPORT_BYTES + 1)
        name = args.get("filename") or upload.filename or ""
    else:
        content = request.get_data(cache=False)
        name = args.get("filename") or ""
    if len(content) > MAX_IMPORT_BYTES:
        raise PayloadTooLarge(details={"max_bytes": MAX_IMPORT_BYTES})
    if not content.strip():
        raise ValidationFailed(details={"file": "the file is empty"})
    return name or DEFAULT_NAMES.get(kind, f"{kind}.csv"), content


@bp.post("/grid-imports/<kind>")
@requires_roles(*GRID_ADMINS)
def import_file(kind: str):
    """Import grids (GeoJSON), households, places or staff (CSV/XLSX): all rows or none.
    Every row's grid must lie in the caller's scopes.
    Send multipart/form-data with a `file` field, or the file itself as the body (name it
    with `filename` so .xlsx is recognised). `dry_run=true` judges without writing. A
    rejected file is a 400 whose details are the report {rows, bad_rows: [{row,
    problems}]}; over 20 MiB is 413.
    ---
    security: bearer
    requestBody: upload
    parameters: [dry_run, filename]
    responses: {200: ImportReportOut, 400: Error, 401: Error, 403: Error, 413: Error}
    """
    args = query(ImportQuery())
    name, content = _upload(_kind(kind), args)
    report = slow_grid(
        "import_file",
        kind,
        name,
        base64.b64encode(content).decode(),
        dry_run=args["dry_run"],
        caller=current_caller(),  # the service refuses the file if any row lies outside
    )
    return jsonify(ImportReportOut().dump(report))


@bp.get("/grid-exports/<kind>")
@requires_roles(*GRID_KEEPERS)
def export_file(kind: str):
    """Download grids (GeoJSON) or households, places, staff (CSV or XLSX) under a prefix.
    The prefix must lie in the caller's scopes (else 404; default: the caller's first
    scope). Phones are unmasked only for roles that need
    them, and such an export is audited. The file imports again without changes.
    ---
    security: bearer
    parameters: [format, prefix]
    responses: {200: download, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    args = query(ExportQuery())
    _kind(kind)
    fmt = args.get("format") or ("geojson" if kind == "grids" else "csv")
    if (kind == "grids") != (fmt == "geojson"):
        allowed = ["geojson"] if kind == "grids" else [f for f in EXPORT_FORMATS if f != "geojson"]
        raise ValidationFailed(details={"format": f"{kind} export as one of {allowed}"})
    caller = current_caller()
    prefix = caller.require_visible(args.get("prefix") or (caller.prefixes() or [""])[0], "prefix")
    out = slow_grid("export_file", kind, fmt, prefix, caller=caller)
    response = Response(base64.b64decode(out["content_b64"]), mimetype=None)
    response.headers["Content-Type"] = out["content_type"]
    response.headers["Content-Disposition"] = f'attachment; filename="{out["filename"]}"'
    response.headers["X-Export-Rows"] = str(out.get("rows", 0))
    response.headers["Cache-Control"] = "no-store"
    return response
