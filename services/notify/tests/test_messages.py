"""The message aggregate against a fake store (it implements NotifyStore's verbs that
`messages.deliver` uses): numbering per user, the texts from templates, what each message
queues beside the inbox (push only where a phone subscribed, SMS for critical messages after
the grace), digests holding a burst, and one live event per call."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from contracts.notify import MESSAGES_CREATED
from services.notify import messages
from services.notify.messages import Draft, Settings

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)  # 12:00 in Shanghai


class FakeStore:
    def __init__(self, prefs=None, subscriptions=None):
        self.prefs = prefs or {}
        self.subs = subscriptions or {}
        self.seq: dict[str, int] = {}
        self.messages: list[dict] = []
        self.deliveries: list[dict] = []
        self.windows: dict[str, datetime] = {}

    def templates(self):
        return {"case_dispatched": {"title": "派单 {number}", "body": "{place}"}}

    def digest_window(self, user, kind, now, until, place, s):
        key = f"{user}:{kind}"
        if self.windows.get(key, now) > now:
            return True
        self.windows[key] = until
        return False

    def reserve_numbers(self, counts, session):
        boxes = {}
        for user, n in counts.items():
            self.seq[user] = self.seq.get(user, 0) + n
            boxes[user] = {
                "seq": self.seq[user],
                "prefs": self.prefs.get(user),
                "push": self.subs.get(user),
            }
        return boxes

    def insert_messages(self, docs, session):
        self.messages += docs

    def put_deliveries(self, docs, session):
        self.deliveries += docs


class FakeOutbox:
    def __init__(self):
        self.events: list[tuple[str, dict]] = []

    def record(self, session, event_type, payload):
        self.events.append((event_type, payload))


def draft(user: str, n: int, kind: str = "case_dispatched", critical: bool = False) -> Draft:
    return Draft(user, kind, {"number": f"AJ{n}", "place": "海兴社区 1幢"}, f"e{n}", critical)


def test_each_user_gets_numbers_in_order_and_one_live_event_per_call():
    store, outbox = FakeStore(), FakeOutbox()
    views = messages.deliver(
        store, outbox, None, [draft("a", 1), draft("b", 1), draft("a", 2)], NOW
    )
    assert [(v["user_id"], v["seq"]) for v in views] == [("a", 1), ("b", 1), ("a", 2)]
    assert [v["title"] for v in views] == ["派单 AJ1", "派单 AJ1", "派单 AJ2"]  # the operator's
    assert [e for e, _ in outbox.events] == [MESSAGES_CREATED]
    assert [m["id"] for m in outbox.events[0][1]["messages"]] == ["e1:a", "e1:b", "e2:a"]


def test_a_burst_buzzes_once_then_waits_for_its_digest():
    store, outbox = FakeStore(), FakeOutbox()
    views = messages.deliver(store, outbox, None, [draft("a", n) for n in range(4)], NOW)
    assert [v["alert"] for v in views] == [True, False, False, False]
    later = NOW + timedelta(seconds=61)
    [view] = messages.deliver(store, outbox, None, [draft("a", 9)], later, Settings())
    assert view["alert"] is True  # the window closed: a new burst


def test_push_only_to_subscribed_phones_and_sms_only_for_critical_after_the_grace():
    store = FakeStore(subscriptions={"a": [{"endpoint": "https://push.example/1"}]})
    messages.deliver(
        store,
        FakeOutbox(),
        None,
        [draft("a", 1), draft("b", 2), draft("b", 3, "case_overdue", critical=True)],
        NOW,
        Settings(sms_grace=timedelta(seconds=120)),
    )
    queued = {(d["user_id"], d["channel"], d["state"]) for d in store.deliveries}
    assert queued == {("a", "push", "queued"), ("b", "sms", "waiting")}
    sms = next(d for d in store.deliveries if d["channel"] == "sms")
    assert sms["next_try_at"] == NOW + timedelta(seconds=120)


def test_quiet_hours_keep_it_silent_but_in_the_inbox():
    store = FakeStore(
        prefs={"a": {"quiet": {"start": "11:00", "end": "13:00"}}},
        subscriptions={"a": [{"endpoint": "https://push.example/1"}]},
    )
    views = messages.deliver(
        store, FakeOutbox(), None, [draft("a", 1), draft("a", 2, "case_overdue", True)], NOW
    )
    assert [(v["kind"], v["alert"]) for v in views] == [
        ("case_dispatched", False),
        ("case_overdue", True),
    ]
    assert {(d["message_id"], d["channel"]) for d in store.deliveries} == {
        ("e2:a", "push"),
        ("e2:a", "sms"),
    }
