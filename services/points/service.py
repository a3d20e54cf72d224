"""The points service: duty points, the double-entry ledger and the supermarkets.

A later issue builds it; today it answers health checks.
"""

from services.kit.health import HealthMixin
from services.kit.mongo import PingStorage, PingStore


class PointsService(HealthMixin):
    name = "points"

    store: PingStore = PingStorage("points")
