"""The roles a user can hold, with their Chinese names. Standard library only."""

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

ROLE_NAMES_ZH = {
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
