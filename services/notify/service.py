"""The notification service (秒通知): turns what happens in the grid, cases and points services
into messages people act on — an inbox per user, live delivery to open apps (through the
gateway's stream), Web Push and SMS as extras, digests of bursts, announcements to whole
grids, and a delivery log with retries and dead letters.

Thin on purpose: each mixin holds the entrypoints of one part; the rules are pure modules
beside it (`domain.py`, `recipients.py`, `announcements.py`) and every message is written
through `messages.deliver`. See README.md beside this file for the map.
"""

from __future__ import annotations

from services.notify.consumers import EventConsumers
from services.notify.rpc_announcements import AnnouncementRpc
from services.notify.rpc_inbox import InboxRpc
from services.notify.sending import Sending


class NotifyService(EventConsumers, InboxRpc, AnnouncementRpc, Sending):
    name = "notify"
