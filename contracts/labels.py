"""The vocabulary the PWA shows, as JSON: one list of roles, tags, posts and their Chinese
labels (contracts/roles.py, contracts/grid_vocabulary.py), imported by the PWA at build
time so no label is written twice.

    .venv/bin/python -m contracts.labels     # rewrites pwa/src/vocabulary.json

A contracts test fails when the file is not what this module makes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from contracts import grid_vocabulary as v
from contracts.roles import GRID_KEEPERS, ROLE_LABELS, VISITORS

TARGET = Path(__file__).resolve().parent.parent / "pwa" / "src" / "vocabulary.json"


def vocabulary() -> dict:
    return {
        "roles": ROLE_LABELS,
        "grid_levels": {str(k): label for k, label in v.GRID_LEVEL_LABELS.items()},
        "grid_kinds": v.GRID_KIND_LABELS,
        "dedicated_kinds": v.DEDICATED_KIND_LABELS,
        "tags": v.TAG_LABELS,
        "relations": v.RELATION_LABELS,
        "tenures": v.TENURE_LABELS,
        "posts": v.POST_LABELS,
        "reserve_kinds": v.RESERVE_KIND_LABELS,
        "visit_kinds": v.VISIT_KIND_LABELS,
        "findings": v.FINDING_LABELS,
        "place_kinds": v.PLACE_KIND_LABELS,
        # which buttons a screen offers (the gateway decides, this only hides what would 403)
        "may": {"visit": list(VISITORS), "keep_grid": list(GRID_KEEPERS)},
    }


def as_json() -> str:
    return json.dumps(vocabulary(), ensure_ascii=False, indent=2) + "\n"


def main() -> int:
    TARGET.write_text(as_json(), encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
