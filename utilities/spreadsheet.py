"""Cells leaving Beacon for a spreadsheet (CSV/XLSX exports): text a spreadsheet would run as a formula gets a
leading quote (issue #10, CSV injection). One rule for every export."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")


def is_number(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True


def defuse(cell, *, numeric_text_is_safe: bool = False):
    """Numbers stay numbers. Text starting like a formula is prefixed with ``'``; with
    ``numeric_text_is_safe``, text that is just a negative number ("-61.45") is left as it is."""
    if isinstance(cell, (int, float, Decimal)):
        return cell
    text = str(cell)
    if text[:1] not in FORMULA_STARTS:
        return text
    if numeric_text_is_safe and text[:1] == "-" and is_number(text):
        return text
    return "'" + text


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a streaming response."""

    def write(self, value):
        return value


def csv_line(cells: Iterable, *, numeric_text_is_safe: bool = False) -> str:
    return csv.writer(_Echo()).writerow([defuse(c, numeric_text_is_safe=numeric_text_is_safe) for c in cells])


def csv_lines(rows: Iterable[Iterable], *, numeric_text_is_safe: bool = False) -> Iterator[str]:
    for row in rows:
        yield csv_line(row, numeric_text_is_safe=numeric_text_is_safe)


def xlsx_bytes(rows: Iterable[Iterable], *, sheet: str, numeric_text_is_safe: bool = False) -> bytes:
    """One worksheet of ``rows`` as an XLSX file, every cell through ``defuse`` (streamed: any size)."""
    import io

    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet[:31])  # Excel's limit on sheet names
    for row in rows:
        worksheet.append([defuse(c, numeric_text_is_safe=numeric_text_is_safe) for c in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
