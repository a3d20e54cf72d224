"""The grid registry's vocabulary: the codes of kinds, tags, posts and relations, each with
its Chinese label.

The list itself is data, kept once in contracts/vocabulary.json: the services and the
schemas read it here, and the PWA imports the same file when it is built, so no label is
written twice. Standard library only.
"""

from __future__ import annotations

import json
from pathlib import Path

VOCABULARY: dict = json.loads(
    Path(__file__).with_name("vocabulary.json").read_text(encoding="utf-8")
)

GRID_LEVEL_LABELS: dict[int, str] = {int(k): v for k, v in VOCABULARY["grid_levels"].items()}
GRID_KIND_LABELS: dict[str, str] = VOCABULARY["grid_kinds"]
DEDICATED_KIND_LABELS: dict[str, str] = VOCABULARY["dedicated_kinds"]
TAG_LABELS: dict[str, str] = VOCABULARY["tags"]
RELATION_LABELS: dict[str, str] = VOCABULARY["relations"]
TENURE_LABELS: dict[str, str] = VOCABULARY["tenures"]
POST_LABELS: dict[str, str] = VOCABULARY["posts"]
RESERVE_KIND_LABELS: dict[str, str] = VOCABULARY["reserve_kinds"]
VISIT_KIND_LABELS: dict[str, str] = VOCABULARY["visit_kinds"]
FINDING_LABELS: dict[str, str] = VOCABULARY["findings"]
PLACE_KIND_LABELS: dict[str, str] = VOCABULARY["place_kinds"]
# which of the five elements (人地事物组织) a kind of place belongs to
PLACE_ELEMENTS: dict[str, str] = VOCABULARY["place_elements"]

GRID_KINDS = tuple(GRID_KIND_LABELS)
DEDICATED_KINDS = tuple(DEDICATED_KIND_LABELS)
HOUSEHOLD_TAGS = tuple(TAG_LABELS)  # 004 §二(三)2: the households that need extra care
RELATIONS = tuple(RELATION_LABELS)
TENURES = tuple(TENURE_LABELS)
POSTS = tuple(POST_LABELS)
RESERVE_KINDS = tuple(RESERVE_KIND_LABELS)
VISIT_KINDS = tuple(VISIT_KIND_LABELS)
FINDING_KINDS = tuple(FINDING_LABELS)
PLACE_KINDS = tuple(PLACE_KIND_LABELS)
