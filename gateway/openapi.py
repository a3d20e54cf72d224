"""The OpenAPI document, built from the routes, their docstrings and the marshmallow schemas.

Each view's docstring has a one-line summary, then after `---` a short YAML block:
`requestBody: SchemaName | upload`,
`responses: {200: SchemaName | [SchemaName] | download | null}`,
`security: bearer | refresh | apiKey | [..]`, `parameters: [query names]`.
"""

from __future__ import annotations

import base64
import hashlib
import re

import yaml
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app, jsonify
from marshmallow import Schema, fields

from contracts import admin_http as admin_schemas
from contracts import cases_http as cases_schemas
from contracts import grid_http as grid_schemas
from contracts import identity as identity_schemas
from contracts import notify_http as notify_schemas
from contracts import points_http as points_schemas
from contracts.errors import CATALOG

bp = Blueprint("openapi", __name__)


class Error(Schema):
    error = fields.String(metadata={"enum": sorted(CATALOG)})
    message = fields.String(metadata={"description": "in the caller's language (Accept-Language)"})
    details = fields.Raw(allow_none=True)


DOWNLOAD_TYPES = (
    "text/csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/geo+json",
)
SECURITY = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "refresh": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (refresh token)"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}


def _schemas() -> dict[str, type[Schema]]:
    found: dict[str, type[Schema]] = {"Error": Error}
    modules = (
        identity_schemas,
        admin_schemas,
        grid_schemas,
        points_schemas,
        cases_schemas,
        notify_schemas,
    )
    for module in modules:
        for name in dir(module):
            obj = getattr(module, name)
            if isinstance(obj, type) and issubclass(obj, Schema) and obj is not Schema:
                found[name] = obj
    return found


def _ref(name: str | list | None) -> dict | None:
    if not name:
        return None
    if isinstance(name, list):  # [Schema]: an array of them
        return {"type": "array", "items": _ref(name[0])}
    return {"$ref": f"#/components/schemas/{name}"}


def _operation(view) -> dict:
    doc = (view.__doc__ or "").strip()
    summary, _, meta = doc.partition("---")
    info = yaml.safe_load(meta) or {} if meta.strip() else {}
    op: dict = {"summary": summary.strip().splitlines()[0] if summary.strip() else view.__name__}
    extra = " ".join(line.strip() for line in summary.strip().splitlines()[1:])
    roles = (getattr(view, "_auth", None) or {}).get("roles")
    if roles:  # from the route's @requires_roles, so the document cannot drift from it
        extra = f"Roles: {', '.join(roles)}. {extra}".strip()
    if extra:
        op["description"] = extra
    if info.get("requestBody") == "upload":  # a file: multipart `file` field or the raw body
        binary = {"type": "string", "format": "binary"}
        op["requestBody"] = {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {"type": "object", "properties": {"file": binary}}
                },
                "application/octet-stream": {"schema": binary},
            },
        }
    elif info.get("requestBody"):
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(info["requestBody"])}},
        }
    responses = {}
    for status, schema in (info.get("responses") or {200: None}).items():
        entry: dict = {"description": "OK" if int(status) < 400 else "error"}
        if schema == "download":  # a file in one of the export formats
            binary = {"schema": {"type": "string", "format": "binary"}}
            entry["content"] = {kind: binary for kind in DOWNLOAD_TYPES}
        elif schema:
            entry["content"] = {"application/json": {"schema": _ref(schema)}}
        responses[str(status)] = entry
    op["responses"] = responses
    security = info.get("security")
    if security:
        names = security if isinstance(security, list) else [security]
        op["security"] = [{name: []} for name in names]
    params = info.get("parameters") or []
    if params:
        op["parameters"] = [
            {"name": p, "in": "query", "required": False, "schema": {"type": "string"}}
            for p in params
        ]
    return op


def build_spec(app: Flask) -> dict:
    spec = APISpec(
        title="网格连心 Lianxin API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "Grid-based community governance. Times are ISO 8601 in UTC."},
    )
    for name, schema in _schemas().items():
        if name not in spec.components.schemas:  # nested ones register themselves
            spec.components.schema(name, schema=schema)
    for name, scheme in SECURITY.items():
        spec.components.security_scheme(name, scheme)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint.startswith(("pwa.", "static", "openapi.")):
            continue
        view = app.view_functions[rule.endpoint]
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        operations = {
            method.lower(): _operation(view)
            for method in sorted(rule.methods or ())
            if method not in ("HEAD", "OPTIONS")
        }
        for op in operations.values():
            for arg in rule.arguments:
                op.setdefault("parameters", []).append(
                    {"name": arg, "in": "path", "required": True, "schema": {"type": "string"}}
                )
        spec.path(path=path, operations=operations)
    return spec.to_dict()


@bp.get("/api/v1/openapi.json")
def openapi_json():
    if "openapi_doc" not in current_app.extensions:
        current_app.extensions["openapi_doc"] = build_spec(current_app)
    return jsonify(current_app.extensions["openapi_doc"])


DOCS_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>网格连心 API 文档</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:960px;padding:16px;color:#1f2933}
h1{font-size:22px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
.op{border:1px solid #e1e4e8;border-radius:6px;margin:8px 0;padding:8px 12px}
.m{display:inline-block;min-width:58px;font-weight:700;text-transform:uppercase}
.get{color:#0b7}.post{color:#06c}.patch{color:#b70}.delete{color:#c22}
code{background:#f3f4f6;padding:1px 4px;border-radius:3px}small{color:#666}
</style></head><body>
<h1>网格连心 Lianxin API</h1>
<p>机器可读文档：<a href="/api/v1/openapi.json"><code>/api/v1/openapi.json</code></a>
（OpenAPI 3）。错误统一为 <code>{"error","message","details"}</code>。</p>
<div id="ops">加载中…</div>
<script>
fetch('/api/v1/openapi.json').then(r => r.json()).then(spec => {
  const byTag = {};
  for (const [path, ops] of Object.entries(spec.paths)) {
    const tag = path.split('/')[3] || path.split('/')[1];
    for (const [method, op] of Object.entries(ops)) (byTag[tag] ||= []).push({path, method, op});
  }
  const esc = s => String(s).replace(/[&<>]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;'}[c]));
  document.getElementById('ops').innerHTML = Object.entries(byTag).map(([tag, list]) =>
    '<h2>' + esc(tag) + '</h2>' + list.map(({path, method, op}) =>
      '<div class="op"><span class="m ' + method + '">' + method + '</span> <code>' + esc(path) +
      '</code><br>' + esc(op.summary || '') +
      (op.description ? '<br><small>' + esc(op.description) +
      '</small>' : '') + '<br><small>响应：' + Object.keys(op.responses).join(', ') +
      (op.security ? ' · 需要：' + op.security.map(s => Object.keys(s)[0]).join(' / ') : '') +
      '</small></div>').join('')).join('');
});
</script></body></html>"""


def _inline_hash(tag: str) -> str:
    """CSP source for the page's one inline <script> or <style> (no 'unsafe-inline')."""
    body = DOCS_PAGE.split(f"<{tag}>", 1)[1].split(f"</{tag}>", 1)[0]
    return "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"


DOCS_POLICY = (
    f"default-src 'none'; script-src {_inline_hash('script')}; "
    f"style-src {_inline_hash('style')}; connect-src 'self'; frame-ancestors 'none'"
)


@bp.get("/api/v1/docs")
def docs_page():
    return (
        DOCS_PAGE,
        200,
        {"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": DOCS_POLICY},
    )
