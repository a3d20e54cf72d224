"""The grid registry's vocabulary: the codes of kinds, tags, posts and relations, each with
its Chinese label, in one place.

Standard library only, so the pure domain and the schemas share one list; the PWA gets the
labels as JSON at build time (`python -m contracts.labels`, see contracts/labels.py).
"""

GRID_LEVEL_LABELS = {1: "一级网格", 2: "二级网格", 3: "三级网格"}

GRID_KIND_LABELS = {"comprehensive": "综合网格", "dedicated": "专属网格"}
GRID_KINDS = tuple(GRID_KIND_LABELS)

DEDICATED_KIND_LABELS = {
    "street_shops": "沿街商铺",
    "enterprise": "企业",
    "office_tower": "商务楼宇",
    "market": "市场",
    "school": "学校",
    "hospital": "医院",
    "government_centre": "党政机关",
    "park": "园区",
}
DEDICATED_KINDS = tuple(DEDICATED_KIND_LABELS)

TAG_LABELS = {
    "elderly_alone": "独居老人",
    "hardship": "困难家庭",
    "disabled": "残疾人",
    "key_person": "重点人员",
    "special_group": "特殊人群",
    "rental_house": "出租屋",
    "floating_population": "流动人口",
    "registered_elsewhere": "人户分离",
}
HOUSEHOLD_TAGS = tuple(TAG_LABELS)

RELATION_LABELS = {
    "head": "户主",
    "spouse": "配偶",
    "child": "子女",
    "parent": "父母",
    "grandchild": "孙辈",
    "sibling": "兄弟姐妹",
    "tenant": "租户",
    "other": "其他",
}
RELATIONS = tuple(RELATION_LABELS)

TENURE_LABELS = {"owned": "自有住房", "rented": "租住", "other": "其他"}
TENURES = tuple(TENURE_LABELS)

POST_LABELS = {
    "grid_leader": "网格长",
    "full_time_worker": "专职网格员",
    "part_time_worker": "兼职网格员",
    "instructor": "网格指导员",
    "hotline_worker": "专线网格员",
    "micro_grid_leader": "微网格长",
}
POSTS = tuple(POST_LABELS)

RESERVE_KIND_LABELS = {
    "b_post": "B岗人员",
    "party_member": "党员",
    "cadre": "干部",
    "veteran": "退役军人",
    "volunteer": "志愿者",
    "doctor": "医生",
    "police": "民警",
    "other": "其他",
}
RESERVE_KINDS = tuple(RESERVE_KIND_LABELS)

VISIT_KIND_LABELS = {"routine": "日常走访", "care": "关爱走访", "wartime": "战时排查"}
VISIT_KINDS = tuple(VISIT_KIND_LABELS)

FINDING_LABELS = {"opinions": "社情民意", "hazards": "安全隐患", "disputes": "矛盾纠纷"}
FINDING_KINDS = tuple(FINDING_LABELS)

PLACE_KIND_LABELS = {
    "shop": "商铺",
    "enterprise": "企业",
    "school": "学校",
    "hospital": "医院",
    "market": "市场",
    "office_tower": "楼宇",
    "facility": "设施",
    "hazard_point": "隐患点",
    "organisation": "社会组织",
    "party_organisation": "党组织",
}
PLACE_KINDS = tuple(PLACE_KIND_LABELS)

# Which of the five elements (人地事物组织) a kind of place belongs to.
PLACE_ELEMENTS = {
    "shop": "organisation",
    "enterprise": "organisation",
    "school": "organisation",
    "hospital": "organisation",
    "market": "land",
    "office_tower": "land",
    "facility": "thing",
    "hazard_point": "event",
    "organisation": "organisation",
    "party_organisation": "organisation",
}
