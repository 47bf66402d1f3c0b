"""Exports (shared/exports.py): no text cell reaches a spreadsheet as a
formula; Chinese text survives; numbers stay numbers."""
import csv
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from shared import exports

HOSTILE = ['=HYPERLINK("http://x","y")', "+1+2", "-3+4", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("text", HOSTILE)
def test_text_a_spreadsheet_would_run_is_shown_as_text(text):
    assert exports.safe(text) == "'" + text


def test_plain_text_and_numbers_are_kept():
    assert exports.safe("杭州某贸易有限公司") == "杭州某贸易有限公司"
    assert exports.safe(Decimal("-21000.00")) == Decimal("-21000.00")
    assert exports.safe(None) == ""


def test_a_csv_opens_as_chinese_in_excel_and_runs_nothing():
    body = exports.csv_bytes(["公司", "金额"], [['=HYPERLINK("http://x","y")', 21000],
                                               ["杭州某贸易有限公司", 5]])
    assert body.startswith(b"\xef\xbb\xbf")      # the BOM Excel reads UTF-8 by
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows == [["公司", "金额"], ["'=HYPERLINK(\"http://x\",\"y\")", "21000"],
                    ["杭州某贸易有限公司", "5"]]


def test_an_xlsx_holds_hostile_text_as_a_string_cell():
    body = exports.xlsx_bytes(["公司", "金额"], [['=HYPERLINK("http://x","y")', 21000],
                                                ["bad\x07bell", 1]])
    sheet = load_workbook(io.BytesIO(body)).active
    name, amount = sheet["A2"], sheet["B2"]
    assert (name.value, name.data_type) == ("'=HYPERLINK(\"http://x\",\"y\")", "s")
    assert (amount.value, amount.data_type) == (21000, "n")
    assert sheet["A3"].value == "bad\ufffdbell"
