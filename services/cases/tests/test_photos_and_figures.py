"""What is kept of a photo (no EXIF, upright, scaled, a thumbnail), what is refused; and how
events add up into figures."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from services.cases import figures, photos
from services.cases.tests.conftest import photo_b64


def test_a_stored_photo_keeps_pixels_only():
    raw = base64.b64decode(photo_b64())
    assert Image.open(io.BytesIO(raw)).getexif()  # the upload carries GPS and camera data
    kept = photos.prepare(raw)
    full = Image.open(io.BytesIO(kept.full))
    assert full.format == "JPEG" and not full.getexif() and "exif" not in full.info
    assert max(full.size) == photos.MAX_SIDE and (kept.width, kept.height) == full.size
    thumb = Image.open(io.BytesIO(kept.thumb))
    assert max(thumb.size) == photos.THUMB_SIDE and not thumb.getexif()


def test_a_sideways_photo_is_turned_upright():
    image = Image.new("RGB", (400, 200), (200, 0, 0))
    tags = Image.Exif()
    tags[0x0112] = 6  # Orientation: rotate 90° clockwise to view
    out = io.BytesIO()
    image.save(out, "JPEG", exif=tags)
    kept = photos.prepare(out.getvalue())
    assert (kept.width, kept.height) == (200, 400)


def test_what_is_not_a_picture_is_refused():
    for junk in (b"hello", b"%PDF-1.4 ...", b"\x89PNG\r\n\x1a\n" + b"0" * 40):
        with pytest.raises(photos.NotImage):
            photos.prepare(junk)
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    with pytest.raises(photos.NotImage):
        photos.prepare(gif.getvalue())


def test_a_decompression_bomb_is_refused_before_decoding():
    out = io.BytesIO()
    Image.new("1", (9000, 9000)).save(out, "PNG")  # tiny file, 81 million pixels
    assert len(out.getvalue()) < 200_000
    with pytest.raises(photos.NotImage):
        photos.prepare(out.getvalue())


def _event(kind, **extra):
    return {"category": "noise", "source": "resident", **extra}


def tallied(happenings):
    """The tally documents the service's consumer would hold after these events."""
    tallies = {}
    for grid, month, kind, extra in happenings:
        for code, parent in figures.rollups(grid):
            doc = tallies.setdefault(
                (code, month), {"code": code, "parent": parent, "month": month}
            )
            for key, n in figures.increments(kind, _event(kind, **extra)).items():
                node = doc
                *path, last = key.split(".")
                for part in path:
                    node = node.setdefault(part, {})
                node[last] = node.get(last, 0) + n
    return list(tallies.values())


def test_every_event_rolls_up_to_each_division_and_grid_level():
    assert figures.rollups("330424001001-001-01") == [
        ("33", ""),
        ("3304", "33"),
        ("330424", "3304"),
        ("330424001", "330424"),
        ("330424001001", "330424001"),
        ("330424001001-001", "330424001001"),
        ("330424001001-001-01", "330424001001-001"),
    ]


def test_figures_add_events_up_by_grid_category_and_rates():
    tallies = tallied(
        [
            ("330424001001-001-01", "2026-03", "case_reported", {}),
            ("330424001001-001-01", "2026-03", "case_registered", {}),
            ("330424001001-001-01", "2026-03", "case_handled", {}),
            ("330424001001-001-01", "2026-03", "case_returned", {}),
            ("330424001001-001-01", "2026-03", "case_handled", {}),
            ("330424001001-001-01", "2026-04", "case_closed", {"on_time": True}),
            ("330424001001-001-01", "2026-04", "case_evaluated", {"rating": 4}),
            ("330424001001-002", "2026-04", "case_reported", {}),
            ("330424001001-002", "2026-04", "case_closed", {"on_time": False}),
            ("330424001001-002", "2026-04", "case_evaluated", {"rating": 2}),
            ("330424104201-001", "2026-04", "case_reported", {}),  # another village
        ]
    )

    def under(code, start, end, by):
        own = [t for t in tallies if t["code"] == code]
        below = [t for t in tallies if t["parent"] == code]
        return figures.rows(own, below, start, end, by)

    rows, total = under("330424001001", "2026-01", "2026-12", "grid")
    assert [r["key"] for r in rows] == ["330424001001-001", "330424001001-002"]
    assert (total["received"], total["closed"], total["handled"], total["returned"]) == (2, 2, 2, 1)
    assert total["on_time_rate"] == 0.5 and total["return_rate"] == 0.5
    assert total["satisfaction"] == 3.0
    march, _ = under("330424001001", "2026-03", "2026-03", "month")
    assert [(r["key"], r["received"], r["closed"]) for r in march] == [("2026-03", 1, 0)]
    by_source, _ = under("330424", "2026-01", "2026-12", "source")
    assert by_source == [{**by_source[0], "key": "resident", "received": 3}]
    towns, county = under("330424", "2026-01", "2026-12", "grid")
    assert [r["key"] for r in towns] == ["330424001", "330424104"] and county["received"] == 3
    alone, _ = under("330424001001-002", "2026-01", "2026-12", "grid")
    assert [(r["key"], r["closed"]) for r in alone] == [("330424001001-002", 1)]
