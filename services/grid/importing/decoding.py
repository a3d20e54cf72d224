"""Importing, part 1 of 4: bytes to rows. CSV in UTF-8, UTF-8 with BOM or GBK; the first
sheet of an XLSX file; a GeoJSON FeatureCollection.

Every file is hostile until read (issue 7 §4: a 30 KB XLSX expanding to 200,000 rows held
the service for seconds). An XLSX is read as a stream (openpyxl read-only, row by row)
under caps on its uncompressed size, its rows and its columns, and reading stops at the
first cap passed. The service runs it in a child process (`services/kit/isolated.py`, with
a memory cap and a deadline), so other calls keep their latency meanwhile; nothing here
touches the network or a greenlet.
"""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from contracts.errors import ValidationFailed
from services.kit import cells


@dataclass(frozen=True)
class Limits:
    rows: int = int(os.environ.get("GRID_IMPORT_MAX_ROWS", "50000"))
    columns: int = 64
    uncompressed: int = 64 * 1024 * 1024  # bytes of XML inside an XLSX


LIMITS = Limits()


def too_big(what: str, limit: int) -> ValidationFailed:
    return ValidationFailed(
        f"the file has more {what} than an import takes ({limit:,})",
        details={"file": f"more than {limit:,} {what}", "limit": limit},
    )


def decode_text(content: bytes) -> tuple[str, str]:
    """Text and the encoding found: UTF-8 with BOM, UTF-8, or GBK (read as GB18030)."""
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8"), "utf-8-sig"
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("gb18030"), "gbk"
    except UnicodeDecodeError:
        raise ValidationFailed(
            details={"encoding": "the file is neither UTF-8 (with or without BOM) nor GBK"}
        ) from None


def is_xlsx(filename: str, content: bytes) -> bool:
    return filename.lower().endswith((".xlsx", ".xlsm")) or content[:4] == b"PK\x03\x04"


def read_table(
    filename: str, content: bytes, limits: Limits = LIMITS
) -> tuple[list[str], list[list[str]], str]:
    """(header, rows, encoding) of a CSV or the first sheet of an XLSX file; blank leading
    rows are skipped. ValidationFailed for an unreadable file or one past a cap."""
    if is_xlsx(filename, content):
        rows, encoding = _xlsx_rows(content, limits), "xlsx"
    else:
        text, encoding = decode_text(content)
        rows = _csv_rows(text, limits)
    while rows and not any(rows[0]):
        rows.pop(0)
    if not rows:
        raise ValidationFailed(details={"file": "the file is empty"})
    return rows[0], rows[1:], encoding


def _csv_rows(text: str, limits: Limits) -> list[list[str]]:
    rows = []
    try:
        for n, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            if n > limits.rows:
                raise too_big("rows", limits.rows)
            if len(row) > limits.columns:
                raise too_big("columns", limits.columns)
            # a cell an export neutralised ('=…) reads back as it was stored
            rows.append([cells.restored(c.strip()) for c in row])
    except csv.Error as exc:
        raise ValidationFailed(details={"file": f"not a readable CSV file: {exc}"}) from None
    return rows


def _xlsx_rows(content: bytes, limits: Limits) -> list[list[str]]:
    import openpyxl

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            # zipfile stops at each member's declared size (and fails its CRC past it), so
            # the declared sizes bound what can come out
            inflated = sum(member.file_size for member in archive.infolist())
        if inflated > limits.uncompressed:
            raise too_big("bytes uncompressed", limits.uncompressed)
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except ValidationFailed:
        raise
    except Exception as exc:  # a zip that is no workbook, a broken one: the caller's file
        raise ValidationFailed(details={"file": f"not a readable XLSX file: {exc}"}) from None
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # a forged <dimension> must not pad every row
        rows = []
        for n, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if n > limits.rows:
                raise too_big("rows", limits.rows)
            row = list(values)
            while row and row[-1] is None:
                row.pop()
            if len(row) > limits.columns:
                raise too_big("columns", limits.columns)
            rows.append([_cell(v) for v in row])
        return rows
    except ValidationFailed:
        raise
    except Exception as exc:
        raise ValidationFailed(details={"file": f"not a readable XLSX file: {exc}"}) from None
    finally:
        book.close()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_features(content: bytes) -> list[Any]:
    """The features of a GeoJSON FeatureCollection (each judged later, one by one)."""
    text, _ = decode_text(content)
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValidationFailed(details={"file": f"not JSON: {exc}"}) from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise ValidationFailed(details={"file": "a GeoJSON FeatureCollection"})
    features = data.get("features")
    if not isinstance(features, list):
        raise ValidationFailed(details={"file": "features must be a list"})
    return features
