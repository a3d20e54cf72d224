"""The import and export blueprint against a recording fake RPC: roles, kinds, formats, the
upload limits, the scope of an export, how a refused file is answered."""

from __future__ import annotations

import base64
import io

from contracts.errors import ValidationFailed
from gateway.tests.answers import G1, HAIXING, TENGJING, assert_error

CSV = "网格编码,楼栋,房号,姓名,与户主关系\n330424001001-001-01-01,1,101,王,户主\n".encode()


def upload(client, headers, kind="households", content=CSV, name="h.csv", **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return client.post(
        f"/api/v1/grid-imports/{kind}?{query}",
        data={"file": (io.BytesIO(content), name)},
        headers=headers,
        content_type="multipart/form-data",
    )


def test_imports_are_for_admins_and_known_kinds(client, rpc, bearer):
    assert_error(upload(client, bearer("grid_worker")), 403, "forbidden")
    pets = upload(client, bearer("community_admin"), kind="pets")
    assert_error(pets, 400, "validation_failed")
    assert not rpc.calls
    report = {"kind": "households", "rows": 1, "bad_rows": [], "created": 1, "applied": False}
    rpc.answer("grid", "import_file", report)
    answer = upload(client, bearer("community_admin", sub="u-c"), dry_run="true")
    assert answer.status_code == 200 and answer.json["created"] == 1
    call = rpc.last("grid", "import_file")
    assert call.args[:2] == ("households", "h.csv") and base64.b64decode(call.args[2]) == CSV
    assert call.kwargs["dry_run"] is True and call.kwargs["caller"].actor == "u-c"
    refused = {"bad_rows": [{"row": 2, "problems": {"grid_code": "… lies outside your scopes"}}]}
    rpc.answer("grid", "import_file", ValidationFailed(details=refused))
    answer = upload(client, bearer("community_admin"))
    assert assert_error(answer, 400, "validation_failed")["bad_rows"][0]["row"] == 2


def test_upload_limits_are_20_mib_for_imports_and_2_mib_elsewhere(client, rpc, bearer):
    admin = {**bearer("community_admin"), "Content-Type": "text/csv"}
    big = b"a" * (3 * 1024 * 1024)  # over the app-wide limit, under the import limit
    rpc.answer("grid", "import_file", ValidationFailed(details={"columns": {}}))
    answer = client.post("/api/v1/grid-imports/households", data=big, headers=admin)
    assert answer.status_code == 400  # read and judged, not refused for size
    assert len(base64.b64decode(rpc.last("grid", "import_file").args[2])) == len(big)
    huge = b"a" * (21 * 1024 * 1024)
    answer = client.post("/api/v1/grid-imports/households", data=huge, headers=admin)
    assert_error(answer, 413, "payload_too_large")
    json_headers = {**bearer("community_admin"), "Content-Type": "application/json"}
    answer = client.post("/api/v1/households", data=big, headers=json_headers)
    assert answer.status_code == 413


def test_exports_check_format_and_scope_and_send_the_file(client, rpc, bearer):
    admin = bearer("community_admin")
    wrong = client.get(f"/api/v1/grid-exports/grids?prefix={G1}&format=csv", headers=admin)
    assert "format" in assert_error(wrong, 400, "validation_failed")
    outside = client.get(f"/api/v1/grid-exports/households?prefix={TENGJING}", headers=admin)
    assert_error(outside, 404, "not_found")
    assert not rpc.calls
    out = {
        "filename": f"households-{HAIXING}.csv",
        "content_type": "text/csv; charset=utf-8",
        "content_b64": base64.b64encode("\ufeffgrid_code\n".encode()).decode(),
        "rows": 0,
    }
    rpc.answer("grid", "export_file", out)
    answer = client.get("/api/v1/grid-exports/households", headers=admin)  # the first scope
    assert answer.status_code == 200 and answer.data.startswith(b"\xef\xbb\xbf")
    assert answer.headers["Content-Disposition"].endswith(f'households-{HAIXING}.csv"')
    assert answer.headers["Cache-Control"] == "no-store"
    assert rpc.last("grid", "export_file").args == ("households", "csv", HAIXING)
