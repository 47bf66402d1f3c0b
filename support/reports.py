"""A report as a company files it: every field POST /reports requires."""
from datetime import datetime, timezone


def report_body(**kw):
    """An invoice fraud of ¥21,000.00; keyword arguments replace fields."""
    body = {"incident_type": "fraud", "summary": "Invoice fraud",
            "description": "A fake supplier invoice was paid.",
            "occurred_at": datetime(2026, 11, 27, 10, tzinfo=timezone.utc).isoformat(),
            "location": "No. 1 Harbour Road", "estimated_loss": "21000.00",
            "currency": "CNY", "funds_in_transit": False, "suspects": []}
    body.update(kw)
    return body
