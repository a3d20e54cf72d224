"""The case service: the closed loop of reports.

A later issue builds it; today it answers health checks.
"""

from services.kit.health import HealthMixin
from services.kit.mongo import PingStorage, PingStore


class CasesService(HealthMixin):
    name = "cases"

    store: PingStore = PingStorage("cases")
