"""Exports in the formats imports read: GeoJSON for grids; CSV (UTF-8 with BOM, which
Excel opens correctly) and XLSX for households, places and staff. An export imported
again changes nothing (masked ID numbers and phones keep what is stored).

What a file shows of a person is what a view shows (issue 7 §2): ID numbers masked, the
birth year only, phones opened only for roles that need them (the RPC audits such an
export). Every cell goes through services/kit/cells.py, so text that starts like a formula
stays text in Excel and WPS (issue 7 §3)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from contracts.errors import ValidationFailed
from services.grid import domain, households
from services.grid.storage import Registry
from services.grid.vault import PHONE, Vault
from services.kit import cells

HOUSEHOLD_HEADER = [
    "grid_code",
    "building",
    "unit",
    "room",
    "tenure",
    "landlord",
    "landlord_phone",
    "tags",
    "note",
    "name",
    "relation",
    "id_number",
    "phone",
    "birth_year",
    "gender",
]
PLACE_HEADER = [
    "grid_code",
    "kind",
    "name",
    "address",
    "lon",
    "lat",
    "contact_person",
    "contact_phone",
    "note",
]
STAFF_HEADER = ["grid_code", "user_id", "username", "display_name", "phone", "post", "ab"]
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "geojson": "application/geo+json",
}


def household_rows(docs: Iterable[dict], unmasked: bool, vault: Vault) -> Iterator[list[str]]:
    for doc in docs:
        housing = doc.get("housing") or {}
        address = doc.get("address") or {}
        landlord_phone = vault.shown(housing.get("landlord_phone"), PHONE, unmasked)
        for i, m in enumerate(doc.get("members", [])):
            own = i == 0  # the household's own fields on its first row only
            phone = vault.shown(m.get("phone"), PHONE, unmasked)
            year = households.birth_year_of(m)
            yield [
                doc["grid_code"],
                address.get("building", ""),
                address.get("unit", ""),
                address.get("room", ""),
                housing.get("tenure", "") if own else "",
                (housing.get("landlord") or "") if own else "",
                (landlord_phone or "") if own else "",
                ";".join(doc.get("tags", [])) if own else "",
                (doc.get("note") or "") if own else "",
                m["name"],
                m.get("relation") or "",
                domain.mask_id(m.get("id_masked")) or "",
                phone or "",
                str(year) if year else "",
                m.get("gender") or "",
            ]


def place_rows(docs: Iterable[dict], unmasked: bool, vault: Vault) -> Iterator[list[str]]:
    for d in docs:
        location = d.get("location") or ["", ""]
        contact = d.get("contact") or {}
        phone = vault.shown(contact.get("phone"), PHONE, unmasked)
        yield [
            d["grid_code"],
            d["kind"],
            d["name"],
            d.get("address") or "",
            str(location[0]),
            str(location[1]),
            contact.get("person") or "",
            phone or "",
            d.get("note") or "",
        ]


def staff_rows(docs: Iterable[dict], vault: Vault) -> Iterator[list[str]]:
    """Staff phones as the public notice board shows them (an export is for grid keepers)."""
    for p in docs:
        yield [
            p["grid_code"],
            p["user_id"],
            p.get("username") or "",
            p.get("display_name") or "",
            vault.opened(p.get("phone"), PHONE) or "",
            p["post"],
            p.get("ab") or "",
        ]


def to_csv(header: list[str], rows: Iterable[list[str]]) -> tuple[bytes, int]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    n = 0
    for row in rows:
        writer.writerow(cells.csv_row(row))
        n += 1
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8"), n


def to_xlsx(header: list[str], rows: Iterable[list[str]]) -> tuple[bytes, int]:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("data")
    sheet.append(header)
    n = 0
    for row in rows:
        # string cells throughout: ID numbers and phones keep their digits, and text that
        # starts with "=" is never written as a formula
        sheet.append(cells.xlsx_row(sheet, row))
        n += 1
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), n


def grids_geojson(store: Registry, prefix: str) -> tuple[bytes, int]:
    features = [
        {
            "type": "Feature",
            "geometry": g.get("boundary"),
            "properties": {
                "code": g["_id"],
                "name": g["name"],
                "level": g["level"],
                "kind": g.get("kind"),
                "dedicated_kind": g.get("dedicated_kind"),
            },
        }
        for g in store.grids_under(prefix)
    ]
    body = {"type": "FeatureCollection", "features": features}
    return json.dumps(body, ensure_ascii=False).encode("utf-8"), len(features)


def export(store: Registry, vault: Vault, kind: str, fmt: str, prefix: str, unmasked: bool) -> dict:
    """{filename, content_type, content (bytes), rows} for one export."""
    if kind == "grids":
        if fmt != "geojson":
            raise ValidationFailed(details={"fmt": "grids export as geojson"})
        content, n = grids_geojson(store, prefix)
    else:
        if fmt not in ("csv", "xlsx"):
            raise ValidationFailed(details={"fmt": "csv or xlsx"})
        if kind == "households":
            found = store.households_in(prefix)
            header, rows = HOUSEHOLD_HEADER, household_rows(found, unmasked, vault)
        elif kind == "places":
            found = store.places_under(prefix, limit=0)
            header, rows = PLACE_HEADER, place_rows(found, unmasked, vault)
        elif kind == "staff":
            header, rows = STAFF_HEADER, staff_rows(store.posts_under(prefix), vault)
        else:
            raise ValidationFailed(details={"kind": "one of grids, households, places, staff"})
        content, n = to_csv(header, rows) if fmt == "csv" else to_xlsx(header, rows)
    return {
        "filename": f"{kind}-{prefix}.{fmt}",
        "content_type": CONTENT_TYPES[fmt],
        "content": content,
        "rows": n,
    }
