"""The roles a user can hold (the PWA carries their Chinese labels). Standard library only."""

ROLES = (
    "resident",
    "grid_worker",
    "grid_leader",
    "instructor",
    "community_admin",
    "town_admin",
    "county_admin",
    "department_staff",
    "merchant_staff",
    "operator",
)
