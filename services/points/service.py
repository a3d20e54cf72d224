"""The points service (积分超市): duty points earned from real work, a double-entry ledger,
partner supermarkets with redemption at the till, settlement, rankings.

Thin on purpose: each mixin holds the entrypoints of one part; the rules, the ledger's
arithmetic, redemption, expiry and settlement are pure modules beside it, and every
balance changes through `storage.append_transfer`.
"""

from __future__ import annotations

from services.points.consumers import AwardConsumers
from services.points.rpc_funds import FundRpc
from services.points.rpc_reports import ReportRpc
from services.points.rpc_shops import ShopRpc


class PointsService(AwardConsumers, FundRpc, ShopRpc, ReportRpc):
    name = "points"
