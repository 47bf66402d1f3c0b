"""A station's export of its reports: a company named like a formula, and a
summary that starts like one, arrive in the spreadsheet as text; Chinese
arrives as Chinese; only reports in the officer's reach are in it."""
import csv
import io

from openpyxl import load_workbook

from services.intake.service import IntakeService
from support.client import Client
from support.organisation import Org
from support.reports import report_body

FORMULA_NAME = '=HYPERLINK("http://x","y")'


def test_a_report_export_cannot_run_a_formula_and_keeps_chinese(running):
    running.start(IntakeService)
    org = Org(running.urls["intake"], running.config["ADMIN_TOKEN"])
    company = org.add_company(FORMULA_NAME)
    filed = Client(running.urls["intake"], company[1]).post(
        "/reports", report_body(summary="+货款被骗 =1+2"))
    assert filed.status_code == 201, filed.text
    elsewhere = Org(running.urls["intake"], running.config["ADMIN_TOKEN"])
    elsewhere.file_report(summary="not ours")
    officer = Client(running.urls["intake"], org.officer_token)

    sheet = officer.get("/reports/export")
    assert sheet.status_code == 200
    assert sheet.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert sheet.headers["Content-Disposition"].startswith('attachment; filename="reports.csv"')
    assert sheet.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(sheet.content.decode("utf-8-sig"))))
    assert [(r["company"], r["summary"]) for r in rows] == [
        ("'" + FORMULA_NAME, "'+货款被骗 =1+2")]
    assert rows[0]["reference"] == filed.json()["reference"]
    assert rows[0]["estimated_loss"] == "21000.00"

    book = officer.get("/reports/export", format="xlsx")
    assert book.status_code == 200
    cells = list(load_workbook(io.BytesIO(book.content)).active.iter_rows(values_only=True))
    assert cells[1][3] == "'" + FORMULA_NAME

    assert officer.get("/reports/export", format="ods").status_code == 422
    assert Client(running.urls["intake"], org.company_token).get(
        "/reports/export").status_code == 403
