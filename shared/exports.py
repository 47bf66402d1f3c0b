"""Exports a spreadsheet opens (CSV and XLSX) that cannot be turned against
the person who opens them.

A cell whose text begins with `=`, `+`, `-`, `@`, a tab or a carriage
return is a formula to Excel, LibreOffice and Google Sheets: a company
named `=HYPERLINK("http://x","y")` would become a link in a supervisor's
spreadsheet. Such text gets a leading apostrophe (OWASP "CSV injection"),
which the spreadsheet shows as plain text. Numbers we computed stay numbers.

CSV is UTF-8 with a byte-order mark, so Excel opens Chinese text as Chinese
and not as mojibake. XLSX is written by openpyxl, each text cell typed as a
string: openpyxl would otherwise store text starting with `=` as a formula.
"""
import csv
import io
from datetime import datetime
from decimal import Decimal
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from werkzeug.wrappers import Response

from shared.fields import shown

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FORMATS = ("csv", "xlsx")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROWS = 10000


def safe(value):
    """A cell's value: text neutralised, numbers kept, times in Beijing time."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, datetime):
        return shown(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_bytes(header, rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe(h) for h in header])
    for row in rows:
        writer.writerow([safe(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(header, rows, title="export"):
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])

    def cells(values):
        out = []
        for value in values:
            value = safe(value)
            if isinstance(value, str):   # control characters XLSX cannot hold
                value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(cell.value, str):
                cell.data_type = "s"   # never a formula, whatever the text
            out.append(cell)
        return out
    sheet.append(cells(header))
    for row in rows:
        sheet.append(cells(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def download(fmt, filename, header, rows):
    """The export as an attachment named `filename`.<fmt> (ASCII and UTF-8
    forms, RFC 6266), never shown inline."""
    if fmt == "xlsx":
        body, mimetype = xlsx_bytes(header, rows, filename), XLSX
    else:
        body, mimetype = csv_bytes(header, rows), "text/csv"   # werkzeug adds the charset
    name = f"{filename}.{fmt}"
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response
