"""The grid registry service: places, grids on a map, household files, staff posts and
visit duties. The map of the service (which module holds which rule, how an event leaves)
and its RPC interface: services/grid/README.md.

Every RPC that acts for a person takes one keyword, `caller=` (contracts.Caller): a record
outside the caller's scopes is NotFound, never its data; creating outside them is
Forbidden. Services acting on their own pass `Caller.trusted("<service>")`.
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
    """The nameko service `grid`: each part holds the RPCs of one part of the registry;
    the rules and records are in the aggregate modules they call."""

    name = "grid"
