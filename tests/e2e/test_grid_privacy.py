"""Issue 7 in the grid registry, end to end over HTTP with the demo data: the audited reveal
of a full ID number, what a file shows of a birth date, exports that keep text as text,
posts as residents see them, the divisions other counties share, and a data-key rotation
while the services run."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import uuid
from pathlib import Path

import openpyxl
import pytest

from tests.e2e.test_grid_api import G1, MICRO, assert_error, id_number, imported

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tokens(system):
    names = ("worker01", "leader01", "community01", "county", "admin", "resident01")
    return {name: system.login(name)["access_token"] for name in names}


def a_household(system, token: str, note: str | None = None) -> tuple[dict, str]:
    number = id_number(f"33042419610203{uuid.uuid4().int % 1000:03d}")
    body = {
        "grid_code": MICRO,
        "address": {"building": "9", "unit": "1", "room": f"P-{uuid.uuid4().hex[:6]}"},
        "members": [
            {"name": "隐私户主", "relation": "head", "id_number": number, "phone": "13912340000"}
        ],
        "note": note,
    }
    created = system.call("POST", "/api/v1/households", token, json=body)
    assert created.status_code == 201, created.text
    return created.json(), number


def test_a_full_id_number_is_revealed_with_a_reason_and_audited(system, tokens):
    created, number = a_household(system, tokens["worker01"])
    member = created["members"][0]
    assert member["id_number"] == number[:2] + "*" * 12 + number[-4:]
    assert member["birth_year"] == 1961 and "birth_date" not in member
    text = json.dumps(created)
    assert number[6:14] not in text and "1961-02-03" not in text

    path = f"/api/v1/households/{created['id']}/members/{member['id']}/reveal-id-number"
    assert_error(
        system.call("POST", path, tokens["worker01"], json={"reason": "想看看"}), 403, "forbidden"
    )
    assert_error(
        system.call("POST", path, tokens["community01"], json={}), 400, "validation_failed"
    )
    shown = system.call("POST", path, tokens["community01"], json={"reason": "核对低保补贴"})
    assert shown.status_code == 200, shown.text
    assert shown.json()["id_number"] == number
    assert shown.headers["Cache-Control"] == "no-store"

    audit = system.call(
        "GET", "/api/v1/grid-audit", tokens["admin"], params={"kind": "id_revealed", "limit": 20}
    )
    assert audit.status_code == 200, audit.text
    entry = next(e for e in audit.json() if e["record_id"] == created["id"])
    assert entry["detail"]["reason"] == "核对低保补贴" and entry["scope"] == MICRO
    assert entry["detail"]["member_id"] == member["id"]


def test_exported_text_that_looks_like_a_formula_stays_text(system, tokens):
    formula = '=HYPERLINK("http://evil.example","点我")'
    created, _ = a_household(system, tokens["worker01"], note=formula)
    admin = tokens["community01"]
    params = {"prefix": MICRO}
    answer = system.call("GET", "/api/v1/grid-exports/households", admin, params=params)
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    header = rows[0]
    mine = next(r for r in rows if r[header.index("room")] == created["address"]["room"])
    assert mine[header.index("note")] == "'" + formula
    assert mine[header.index("birth_year")] == "1961" and "birth_date" not in header
    xlsx = system.call(
        "GET", "/api/v1/grid-exports/households", admin, params={**params, "format": "xlsx"}
    )
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    column = header.index("note") + 1
    notes = (sheet.cell(row=r, column=column) for r in range(2, sheet.max_row + 1))
    cell = next(c for c in notes if c.value == formula)
    assert cell.data_type == "s"  # a string cell, not a formula
    again = imported(system, admin, "households", answer.content, "households.csv")
    assert again.status_code == 200, again.text
    assert (again.json()["created"], again.json()["updated"]) == (0, 0)


def test_residents_see_staff_as_the_notice_board_shows_them(system, tokens):
    answer = system.call("GET", f"/api/v1/grids/{MICRO}/posts", tokens["resident01"])
    assert answer.status_code == 200, answer.text
    assert answer.json() and all(
        "user_id" not in p and "username" not in p and p["display_name"] for p in answer.json()
    )
    staff = system.call("GET", f"/api/v1/grids/{MICRO}/posts", tokens["leader01"]).json()
    assert all(p["user_id"] for p in staff)


def test_only_operators_rename_the_city_other_counties_share(system, tokens):
    body = {"divisions": [{"code": "3304", "name": "改名市"}]}
    assert_error(
        system.call("PUT", "/api/v1/divisions", tokens["county"], json=body), 403, "forbidden"
    )
    same = {"divisions": [{"code": "3304", "name": "嘉兴市"}]}
    assert system.call("PUT", "/api/v1/divisions", tokens["county"], json=same).status_code == 200
    assert system.call("PUT", "/api/v1/divisions", tokens["admin"], json=same).status_code == 200
    names = system.call("GET", "/api/v1/divisions", tokens["county"], params={"prefix": "3304"})
    assert next(d for d in names.json() if d["code"] == "3304")["name"] == "嘉兴市"


def test_the_data_key_rotates_while_the_services_run(system, tokens):
    """`python -m services.grid.rekey --new-key` (development keys under var/): a new key,
    every value sealed again under it in batches; the running grid service reads the new
    key file and goes on opening and sealing."""
    created, number = a_household(system, tokens["worker01"])
    member = created["members"][0]

    def rekey(*args: str) -> dict:
        done = subprocess.run(
            [sys.executable, "-m", "services.grid.rekey", *args],
            cwd=ROOT,
            env=system.system.env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    before = rekey("--check")["key"]
    rotated = rekey("--new-key")
    assert rotated["key"] != before and rotated["done"]
    assert rotated["resealed"]["households"] >= 1 and rotated["read"] > 2000
    assert rekey("--check") == {
        "key": rotated["key"],
        "left": dict.fromkeys(rotated["resealed"], 0),
    }
    path = f"/api/v1/households/{created['id']}/members/{member['id']}/reveal-id-number"
    shown = system.call("POST", path, tokens["community01"], json={"reason": "换密钥后核对"})
    assert shown.status_code == 200, shown.text
    assert shown.json()["id_number"] == number
    file = system.call("GET", f"/api/v1/households/{created['id']}", tokens["worker01"]).json()
    assert file["members"][0]["phone"] == "13912340000"
    later, _ = a_household(system, tokens["worker01"])  # sealed under the new key
    assert rekey("--check")["left"]["households"] == 0 and later["id"]
    assert system.call("GET", f"/api/v1/grids/{G1}/reserve", tokens["leader01"]).status_code == 200
