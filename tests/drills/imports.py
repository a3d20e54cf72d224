"""A household import for the drills: a CSV of new households in one building of worker01's
unit, sent as the admin API takes it, and the check that each of its households is in the
grid database exactly once however often the import ran."""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from dataclasses import dataclass

from tests.drills.effects import PREFIX, Tally
from tests.drills.load import Client, Write

HEADER = ["网格编码", "楼栋", "单元", "房号", "姓名", "与户主关系", "手机号", "标签"]


@dataclass
class HouseholdImport:
    building: str
    rooms: list[str]
    content: bytes
    key: str

    def send(self, client: Client) -> Write:
        write = Write(self.key, "POST", "/api/v1/grid-imports/households", None)
        files = {"file": (f"{self.building}.csv", self.content, "text/csv")}
        return client.send(write, "import", deadline=150, files=files)


def household_import(label: str, rows: int, micro: str) -> HouseholdImport:
    building = f"演练{label}{uuid.uuid4().hex[:6]}"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    rooms = [f"{100 + i}" for i in range(rows)]
    for i, room in enumerate(rooms):
        writer.writerow([micro, building, "1", room, f"演练户{i}", "户主", "", ""])
    content = out.getvalue().encode("utf-8")
    return HouseholdImport(building, rooms, content, f"import-{uuid.uuid4().hex}")


def households_once(mongo, upload: HouseholdImport) -> Tally:
    found = Counter(
        doc["address"]["room"]
        for doc in mongo[f"{PREFIX}grid"]["households"].find(
            {"address.building": upload.building}, {"address.room": 1}
        )
    )
    tally = Tally()
    for room in upload.rooms:
        if found[room] == 0:
            tally.lost.append(f"household:{upload.building}/{room}")
        elif found[room] > 1:
            tally.duplicated.append(f"household:{upload.building}/{room}")
    return tally
