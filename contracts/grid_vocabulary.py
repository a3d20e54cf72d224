"""The grid registry's vocabulary: the codes of kinds, tags, posts and relations.

Standard library only, so the pure domain and the schemas can share one list.
"""

GRID_KINDS = ("comprehensive", "dedicated")

DEDICATED_KINDS = (
    "street_shops",
    "enterprise",
    "office_tower",
    "market",
    "school",
    "hospital",
    "government_centre",
    "park",
)

HOUSEHOLD_TAGS = (
    "elderly_alone",
    "hardship",
    "disabled",
    "key_person",
    "special_group",
    "rental_house",
    "floating_population",
    "registered_elsewhere",
)

RELATIONS = ("head", "spouse", "child", "parent", "grandchild", "sibling", "tenant", "other")

TENURES = ("owned", "rented", "other")

POSTS = (
    "grid_leader",
    "full_time_worker",
    "part_time_worker",
    "instructor",
    "hotline_worker",
    "micro_grid_leader",
)

RESERVE_KINDS = (
    "b_post",
    "party_member",
    "cadre",
    "veteran",
    "volunteer",
    "doctor",
    "police",
    "other",
)

VISIT_KINDS = ("routine", "care", "wartime")

PLACE_KINDS = (
    "shop",
    "enterprise",
    "school",
    "hospital",
    "market",
    "office_tower",
    "facility",
    "hazard_point",
    "organisation",
    "party_organisation",
)
