"""The roles a user can hold, their Chinese labels, and who may do what in the grid
registry. Standard library only; the PWA gets the labels as JSON (contracts/labels.py)."""

ROLE_LABELS = {
    "resident": "居民",
    "grid_worker": "网格员",
    "grid_leader": "网格长",
    "instructor": "网格指导员",
    "community_admin": "社区管理员",
    "town_admin": "镇街管理员",
    "county_admin": "县级管理员",
    "department_staff": "部门工作人员",
    "merchant_staff": "超市收银员",
    "operator": "平台运维",
}
ROLES = tuple(ROLE_LABELS)

# --- the grid registry: who may do what (the gateway's decorators and the service agree) ---
# the registry itself: grids, divisions, posts, imports, exports
GRID_ADMINS = ("operator", "county_admin", "town_admin", "community_admin")
# read resident data (household files, places, visits) in their scopes
RESIDENT_READERS = (
    "grid_worker",
    "grid_leader",
    "instructor",
    "community_admin",
    "town_admin",
    "county_admin",
)
# write resident data (household files, places)
RESIDENT_EDITORS = ("grid_worker", "grid_leader", "community_admin", "town_admin", "county_admin")
# log home visits
VISITORS = ("grid_worker", "grid_leader")
# see the duty board and the grid-rule warnings of their grids
GRID_LEADERS = ("grid_leader", "instructor", *GRID_ADMINS)
# strike off a visit logged in error, mark a worker absent, keep the reserve and party links
GRID_KEEPERS = ("grid_leader", *GRID_ADMINS)
# staff with posts on grids
GRID_STAFF = ("grid_worker", "grid_leader", "instructor")
