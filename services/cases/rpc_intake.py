"""Intake: a report from a resident, a worker (also from a visit), an operator or a machine
client (the 12345 hotline, Open311), located to its grid, checked for duplicates nearby; and
the photos that go with reports and feedback, uploaded first in their own request."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import uuid
from datetime import timedelta
from typing import Any

import eventlet.tpool

from contracts.caller import Caller
from contracts.cases_http import CaseIn
from contracts.errors import (
    Forbidden,
    NotAnImage,
    NotFound,
    OutsideGrids,
    PhotoTooLarge,
    ValidationFailed,
)
from contracts.roles import CASE_INTAKE_CLIENTS, CASE_STAFF, GRID_STAFF
from services.cases import case as rules_of
from services.cases import photos, taxonomy, views, writes
from services.cases.base import CONTACT, TRUSTED, CasesBase, cases_rpc
from services.cases.case import Step
from services.cases.workclock import SHANGHAI
from services.kit.inputs import load

DUPLICATE_METRES = 50
DUPLICATE_HOURS = 72
STAFF_SOURCES = ("worker", "visit")
CLIENT_SOURCES = ("hotline", "open311", "operator")


def metres(a: dict, b: dict) -> float:
    """Great-circle distance between two {lon, lat} points (haversine)."""
    lon1, lat1, lon2, lat2 = map(math.radians, (a["lon"], a["lat"], b["lon"], b["lat"]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


def source_of(data: dict, caller: Caller) -> str:
    """Where a report came from: asked for where the caller may say so, else by role."""
    asked = data.get("source")
    is_client = caller.has_role(*CASE_INTAKE_CLIENTS)
    is_staff = caller.has_role(*GRID_STAFF)
    if asked:
        if asked in CLIENT_SOURCES and not is_client:
            raise Forbidden(details={"source": f"{asked} is for intake clients"})
        if asked in STAFF_SOURCES and not is_staff:
            raise Forbidden(details={"source": f"{asked} is for grid staff"})
        if asked == "visit" and not data.get("visit_id"):
            raise ValidationFailed(details={"source": "a visit report names its visit_id"})
        return asked
    if data.get("visit_id"):
        return "visit"
    if caller.has_role("hotline"):
        return "hotline"
    if is_staff:
        return "worker"
    if is_client or caller.has_role(*CASE_STAFF):
        return "operator"
    return "resident"


def reporter(caller: Caller) -> Caller:
    """The caller with their most telling role first (points pay staff for registered
    reports by `reporter_role`)."""
    staff = [r for r in caller.roles if r in GRID_STAFF]
    ordered = staff + [r for r in caller.roles if r not in staff]
    return Caller(caller.actor, tuple(ordered), caller.scopes, caller.is_trusted)


class IntakeRpc(CasesBase):
    _centres: dict[str, list[float]] = {}

    @cases_rpc
    def report(self, data: dict, client_id: str, *, caller: Caller) -> dict:
        """Take a report: {category, title?, description, location?: {lon, lat} |
        grid_code? | visit_id?, address?, photos?: [id], attributes?, contact?, source?}.
        The point is located to its grid; the category sets the level and the clock; open
        cases of the same category within 50 m and 72 h are offered as possible duplicates.
        Sent again with the same client_id it is taken once."""
        data = load(CaseIn(), data)
        data.pop("client_id", None)
        source = source_of(data, caller)
        category = self._category_for_report(data["category"])
        problems = taxonomy.attribute_problems(category, data["attributes"])
        if problems:
            raise ValidationFailed(details=problems)
        wanted = list(dict.fromkeys(data["photos"]))
        place = self._place(data, caller)
        body = {"data": data, "source": source}

        def execute(session):
            now = self._now()
            rules = self._rules(category["_id"])
            day = now.astimezone(SHANGHAI).strftime("%Y%m%d")
            number = f"AJ{day}{self.store.next_number(day):04d}"
            found = self._duplicates(category["_id"], place.get("location"), now)
            doc, events = rules_of.report(
                case_id=uuid.uuid4().hex,
                number=number,
                data={**data, "photos": wanted},
                category=category,
                place=place,
                caller=reporter(caller),
                source=source,
                now=now,
                rules=rules,
                duplicates=found,
            )
            if data.get("contact"):
                text = json.dumps(data["contact"], ensure_ascii=False, sort_keys=True)
                doc["contact_sealed"] = self.keys.seal(text, CONTACT)
            self._attach(wanted, caller, doc["_id"], session)
            entry = rules_of.entry({}, doc, "report", caller, now, Step(photos=tuple(wanted)))
            entry["action"] = "report"
            writes.create(self.store, self.outbox, session, doc, entry, events)
            shown = views.view(
                doc, caller, now, rules, timeline=[entry], contact=data.get("contact")
            )
            return shown | {
                "possible_duplicates": [
                    {
                        "id": d["_id"],
                        "number": d["number"],
                        "state": d["state"],
                        "distance_m": round(metres(d["location"], place["location"]), 1),
                    }
                    for d in found
                ]
            }

        key = f"{caller.actor}:{client_id or uuid.uuid4().hex}"
        result = self.store.run_command("report", key, body, execute)
        self.outbox.wake()
        return result

    # --- where --------------------------------------------------------------------------
    def _category_for_report(self, code: str) -> dict:
        doc = self._category(code)
        if doc is None or doc.get("retired"):
            raise ValidationFailed(details={"category": f"no category {code!r} in use"})
        return doc

    def _place(self, data: dict, caller: Caller) -> dict[str, Any]:
        """{grid_code, grid_name, location, public_point} of a report."""
        location = data.get("location")
        if data.get("visit_id"):
            visit = self.grid.get_visit(data["visit_id"], caller=caller)
            data["household_id"] = visit.get("household_id")
            code = visit["grid_code"]
            if location is None:
                grid = self.grid.get_grid(code, caller=TRUSTED)
                return self._placed(code, grid["name"], None)
        if location is not None:
            try:
                found = self.grid.locate(location["lon"], location["lat"])
            except NotFound:
                raise OutsideGrids(
                    details={"location": [location["lon"], location["lat"]]}
                ) from None
            return self._placed(found["code"], found["name"], location)
        code = data["grid_code"]
        try:
            grid = self.grid.get_grid(code, caller=TRUSTED)
        except NotFound:
            raise ValidationFailed(details={"grid_code": f"no grid {code}"}) from None
        return self._placed(code, grid["name"], None)

    def _placed(self, code: str, name: str, location: dict | None) -> dict[str, Any]:
        return {
            "grid_code": code,
            "grid_name": name,
            "location": location,
            "public_point": self._centre(code),
        }

    def _centre(self, code: str) -> list[float] | None:
        """Where the public board shows a grid's cases: its centre, rounded (kept per process)."""
        if code not in self._centres:
            grid = self.grid.get_grid(code, boundary=True, caller=TRUSTED)
            ring = ((grid.get("boundary") or {}).get("coordinates") or [[]])[0][:-1]
            if not ring:
                return None
            self._centres[code] = [
                round(sum(p[0] for p in ring) / len(ring), 4),
                round(sum(p[1] for p in ring) / len(ring), 4),
            ]
        return self._centres[code]

    def _duplicates(self, category: str, location: dict | None, now) -> list[dict]:
        if location is None:
            return []
        since = now - timedelta(hours=DUPLICATE_HOURS)
        near = [
            d
            for d in self.store.open_near(category, location, since)
            if metres(d["location"], location) <= DUPLICATE_METRES
        ]
        return sorted(near, key=lambda d: metres(d["location"], location))[:5]

    # --- photos -------------------------------------------------------------------------
    @cases_rpc
    def upload_photo(self, content_b64: str, client_id: str | None = None, *, caller: Caller):
        """Keep an image (JPEG, PNG or WebP, at most photos.MAX_BYTES) for a later report or
        step: EXIF and other metadata stripped, a thumbnail made. Answers {id, width, height,
        bytes, content_type}; the same client_id answers the first upload."""
        try:
            content = base64.b64decode(content_b64 or "", validate=True)
        except (binascii.Error, ValueError):
            raise ValidationFailed(details={"file": "not base64"}) from None
        if len(content) > photos.MAX_BYTES:
            raise PhotoTooLarge(details={"max_bytes": photos.MAX_BYTES, "bytes": len(content)})
        if not content:
            raise ValidationFailed(details={"file": "the file is empty"})
        digest = hashlib.sha256(content).hexdigest()
        try:  # decoding is CPU work: off the event loop, so heartbeats go on
            prepared = eventlet.tpool.execute(photos.prepare, content)
        except photos.NotImage:
            raise NotAnImage(details={"formats": list(photos.FORMATS)}) from None

        photo_id = uuid.uuid4().hex
        meta = {
            "_id": photo_id,
            "owner": caller.actor,
            "case_id": None,
            "full_id": f"{photo_id}-full",
            "thumb_id": f"{photo_id}-thumb",
            "width": prepared.width,
            "height": prepared.height,
            "bytes": len(prepared.full),
            "sha256": digest,
            "created_at": self._now(),
        }
        self.store.put_photo_files(meta, prepared.full, prepared.thumb)

        def execute(session):
            self.store.insert_photo(meta, session)
            return photo_out(meta)

        key = f"{caller.actor}:{client_id or uuid.uuid4().hex}"
        try:
            kept = self.store.run_command("photo", key, {"sha256": digest}, execute)
        except Exception:
            self.store.drop_photo_files(meta)
            raise
        if kept["id"] != photo_id:  # a replay: the first upload's files are the ones kept
            self.store.drop_photo_files(meta)
        return kept

    @cases_rpc
    def photo(self, photo_id: str, size: str = "full", *, caller: Caller) -> dict:
        """{content_b64, content_type, etag} of a photo: for its uploader until it is used,
        then for whoever may see its case; NotFound for anyone else."""
        meta = self.store.photo(str(photo_id))
        if meta is None:
            raise NotFound(details={"photo_id": photo_id})
        if meta.get("case_id") is None:
            if meta["owner"] != caller.actor and not caller.is_trusted:
                raise NotFound(details={"photo_id": photo_id})
        else:
            self._visible(meta["case_id"], caller)
        content = self.store.photo_bytes(meta, "thumb" if size == "thumb" else "full")
        return {
            "content_b64": base64.b64encode(content).decode(),
            "content_type": "image/jpeg",
            "etag": f"{meta['_id']}-{size}",
        }


def photo_out(meta: dict) -> dict:
    return {
        "id": meta["_id"],
        "width": meta["width"],
        "height": meta["height"],
        "bytes": meta["bytes"],
        "content_type": "image/jpeg",
    }
