"""The cases service: the closed loop from a report to a rated result (DOMAIN §3).

Thin on purpose: each mixin holds the entrypoints of one part (intake and photos, the loop,
the catalogue, results, and what runs on its own: triage, clocks, figures); the rules are
the pure `case.py` (the state table and `apply`), `workclock.py`, `taxonomy.py` and
`figures.py`, and a case changes only through `writes.move`.
"""

from __future__ import annotations

from services.cases.clocks import Clocks
from services.cases.rpc_catalogue import CatalogueRpc
from services.cases.rpc_intake import IntakeRpc
from services.cases.rpc_results import ResultsRpc


class CasesService(Clocks, IntakeRpc, CatalogueRpc, ResultsRpc):
    name = "cases"
