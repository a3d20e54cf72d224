"""The grid registry service: places, grids on a map, household files, staff posts and
visit duties. RPC interface listed with example payloads in services/grid/README.md.

Calls that touch resident data take the caller's `scopes` (code prefixes), `roles` and
`actor` (user id): a record outside the scopes is NotFound, never its data. Registry
calls (grids, divisions, posts, reserve, party units, imports, audit) take `scopes` too,
as defence in depth behind the gateway: a grid outside them is NotFound, creating a grid
or division outside them is Forbidden, an import row outside them fails the import. Only
the public notice board and the dispatch answer `on_duty` take `scopes=None` to mean a
trusted internal caller (another service, the demo loader).
"""

from __future__ import annotations

from services.grid.base import GridBase
from services.grid.rpc_files import FileRpc
from services.grid.rpc_households import HouseholdRpc
from services.grid.rpc_places import PlaceRpc
from services.grid.rpc_registry import DivisionAndGridRpc
from services.grid.rpc_staff import StaffRpc
from services.grid.rpc_visits import VisitRpc


class GridService(
    DivisionAndGridRpc, HouseholdRpc, PlaceRpc, StaffRpc, VisitRpc, FileRpc, GridBase
):
    """The nameko service `grid`: each mixin holds the RPCs of one part of the registry."""

    name = "grid"
