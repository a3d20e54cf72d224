"""Case photos: what is kept of an upload, and who may fetch it.

Every stored image is drawn again from its pixels alone: turned upright by its EXIF
orientation, then saved as a fresh JPEG with no EXIF, XMP, ICC or comment, so no location,
camera or owner data survives. A long side over `MAX_SIDE` is scaled down (the PWA already
sends ≤ 1,600 px), and a thumbnail is made for lists. Decoding is CPU work: the service runs
`prepare` in a thread (eventlet.tpool) so the worker's heartbeats go on.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from contracts.cases_http import PHOTO_MAX_BYTES

MAX_BYTES = PHOTO_MAX_BYTES  # an upload's size limit, advertised by GET /api/v1/cases/meta
MAX_PER_STEP = 9
MAX_SIDE = 1600
THUMB_SIDE = 320
MAX_PIXELS = 40_000_000  # a decompression bomb is refused before it is decoded
FORMATS = ("JPEG", "PNG", "WEBP")


class NotImage(ValueError):
    """The bytes are not a JPEG, PNG or WebP picture we can read."""


@dataclass(frozen=True)
class Prepared:
    full: bytes
    thumb: bytes
    width: int
    height: int
    source_format: str


def prepare(data: bytes) -> Prepared:
    """The stored full image and thumbnail of an upload (JPEG, metadata stripped)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data))
            source_format = opened.format or ""
            if source_format not in FORMATS:
                raise NotImage(f"format {source_format or 'unknown'}")
            if opened.width * opened.height > MAX_PIXELS:
                raise NotImage("too many pixels")
            opened.load()
            upright = ImageOps.exif_transpose(opened)
    except NotImage:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Warning) as exc:
        raise NotImage(str(exc)) from exc
    except Image.DecompressionBombError as exc:
        raise NotImage("too many pixels") from exc
    pixels = _pixels_only(upright)
    pixels.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    thumb = pixels.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return Prepared(
        full=_jpeg(pixels, 85),
        thumb=_jpeg(thumb, 75),
        width=pixels.width,
        height=pixels.height,
        source_format=source_format,
    )


def _pixels_only(image: Image.Image) -> Image.Image:
    """A new RGB image holding the pixels and nothing else (no info, no metadata)."""
    if image.mode in ("RGBA", "LA", "P"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    clean = Image.new("RGB", image.size)
    clean.paste(image.convert("RGB"))
    return clean


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()
