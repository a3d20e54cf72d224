"""What every drill checks afterwards, in the services' own databases: each write the
server answered 2xx is there exactly once, and each event it caused was applied exactly
once down the chain (visit → points award or refusal → points_awarded event → notify
message)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from pymongo import MongoClient

from tests.drills.load import Write

PREFIX = "wg_"


@dataclass
class Tally:
    """Lost and duplicated effects, with the keys that show them."""

    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> Tally:
        return Tally(self.lost + other.lost, self.duplicated + other.duplicated)

    def describe(self) -> str:
        lost, twice = len(self.lost), len(self.duplicated)
        return f"lost {lost}: {self.lost[:5]}; applied twice {twice}: {self.duplicated[:5]}"


def writes_once(mongo: MongoClient, writes: list[Write]) -> Tally:
    """Visits: an answered key is in the grid database once, under the id it was answered
    with; an unanswered one at most once."""
    keys = [w.key for w in writes]
    found: Counter[str] = Counter()
    ids: dict[str, str] = {}
    for doc in mongo[f"{PREFIX}grid"]["visits"].find({"note": {"$in": keys}}, {"note": 1}):
        found[doc["note"]] += 1
        ids[doc["note"]] = str(doc["_id"])
    tally = Tally()
    for write in writes:
        count = found[write.key]
        if count > 1:
            tally.duplicated.append(write.key)
        elif write.answered and (count == 0 or ids[write.key] != write.answer.get("id")):
            tally.lost.append(write.key)
    return tally


def unanswered(writes: list[Write]) -> list[Write]:
    return [w for w in writes if not w.answered]


def visit_events_once(mongo: MongoClient, visit_ids: list[str], timeout: float = 60) -> Tally:
    """Every visit_logged event was applied once by points (an award or a refusal), every
    award told once (one points_awarded event) and every such event made one notify message.
    Waits for events still on their way, then counts."""
    points = mongo[f"{PREFIX}points"]
    notify = mongo[f"{PREFIX}notify"]
    deadline = time.monotonic() + timeout
    while True:
        outcomes: Counter[str] = Counter()
        award_ids: list[str] = []
        for doc in points["awards"].find(
            {"ref": {"$in": visit_ids}, "trigger": "visit_logged"}, {"ref": 1}
        ):
            outcomes[doc["ref"]] += 1
            award_ids.append(doc["_id"])
        for doc in points["refusals"].find({"fact.ref": {"$in": visit_ids}}, {"fact.ref": 1}):
            outcomes[doc["fact"]["ref"]] += 1
        told: Counter[str] = Counter()
        events = []
        for doc in points["outbox"].find(
            {"event.type": "points_awarded", "event.payload.transfer_id": {"$in": award_ids}},
            {"event.id": 1, "event.payload.transfer_id": 1},
        ):
            told[doc["event"]["payload"]["transfer_id"]] += 1
            events.append(doc["event"]["id"])
        messages: Counter[str] = Counter(
            doc["source"]
            for doc in notify["messages"].find({"source": {"$in": events}}, {"source": 1})
        )
        complete = (
            all(outcomes[v] >= 1 for v in visit_ids)
            and all(told[a] >= 1 for a in award_ids)
            and all(messages[e] >= 1 for e in events)
        )
        if complete or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    tally = Tally()
    for name, counts, wanted in (
        ("points", outcomes, visit_ids),
        ("points_awarded", told, award_ids),
        ("notify", messages, events),
    ):
        for ref in wanted:
            if counts[ref] == 0:
                tally.lost.append(f"{name}:{ref}")
            elif counts[ref] > 1:
                tally.duplicated.append(f"{name}:{ref}")
    return tally
