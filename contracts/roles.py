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

# --- the cases service (the closed loop) ---------------------------------------------------
# see cases in their scopes, their lists and figures
CASE_STAFF = tuple(_GROUPS["case_staff"])
# register, cancel, dispatch, reassign, escalate, merge and link cases
CASE_DISPATCHERS = tuple(_GROUPS["case_dispatchers"])
# accept, decline and handle what was dispatched to them (or to their unit)
CASE_HANDLERS = tuple(_GROUPS["case_handlers"])
# verify and close, or return for rework (never the case's own handler)
CASE_VERIFIERS = tuple(_GROUPS["case_verifiers"])
# blow the whistle (吹哨): send a case up to the next level
CASE_WHISTLERS = tuple(_GROUPS["case_whistlers"])
# report on behalf of someone else: the 12345 hotline, Open311 clients, platform operators
CASE_INTAKE_CLIENTS = tuple(_GROUPS["case_intake_clients"])
# add, edit and retire categories; edit the working calendar
CATEGORY_EDITORS = tuple(_GROUPS["category_editors"])
