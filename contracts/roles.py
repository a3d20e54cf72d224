"""The roles a user can hold, their Chinese labels, and who may do what in the grid
registry: read from contracts/vocabulary.json, which the PWA imports too. Standard
library only."""

from __future__ import annotations

from contracts.grid_vocabulary import VOCABULARY

ROLE_LABELS: dict[str, str] = VOCABULARY["roles"]
ROLES = tuple(ROLE_LABELS)

_GROUPS: dict[str, list[str]] = VOCABULARY["role_groups"]
# the registry itself: grids, divisions, posts, imports, exports
GRID_ADMINS = tuple(_GROUPS["grid_admins"])
# read resident data (household files, places, visits) in their scopes
RESIDENT_READERS = tuple(_GROUPS["resident_readers"])
# write resident data (household files, places)
RESIDENT_EDITORS = tuple(_GROUPS["resident_editors"])
# log home visits
VISITORS = tuple(_GROUPS["visitors"])
# see the duty board and the grid-rule warnings of their grids
GRID_LEADERS = tuple(_GROUPS["grid_leaders"])
# strike off a visit logged in error, mark a worker absent, keep the reserve and party links
GRID_KEEPERS = tuple(_GROUPS["grid_keepers"])
# staff with posts on grids
GRID_STAFF = tuple(_GROUPS["grid_staff"])
# see a resident's full ID number, one member at a time, with a reason (audited)
ID_REVEALERS = tuple(_GROUPS["id_revealers"])
# read staff posts in full (user ids, user names); anyone else sees what the public notice
# board shows
STAFF_READERS = tuple(_GROUPS["staff_readers"])
