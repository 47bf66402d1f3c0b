"""What a form sends, turned into an API body, and the API's field errors
put back next to the fields. Pure: no request, no HTTP."""
import uuid
from datetime import datetime
from typing import Any

from services.web.display import BEIJING


def new_key() -> str:
    """The Idempotency-Key a form carries: a double click, or a retried
    submit, files once."""
    return str(uuid.uuid4())


def beijing_instant(value: str) -> Any:
    """<input type=datetime-local> (Beijing wall time) -> ISO-8601 with +08:00.
    Anything else goes through as typed, for the API to name what is wrong."""
    try:
        return datetime.fromisoformat(value).replace(tzinfo=BEIJING).isoformat()
    except ValueError:
        return value


def whole_number(value: str) -> Any:
    try:
        return int(value)
    except ValueError:
        return value


def report_body(form) -> dict:
    """POST /reports from the business's form. Only what was filled is sent,
    so a missing field is the API's "required" message, not ours."""
    body: dict = {"currency": "CNY",
                  "funds_in_transit": form.get("funds_in_transit") == "on",
                  "suspects": [line.strip() for line in form.get("suspects", "").splitlines()
                               if line.strip()]}
    for name in ("incident_type", "summary", "description", "location", "estimated_loss"):
        value = form.get(name, "").strip()
        if value:
            body[name] = value.replace(",", "").lstrip("¥") if name == "estimated_loss" \
                else value
    if form.get("occurred_at", "").strip():
        body["occurred_at"] = beijing_instant(form["occurred_at"].strip())
    if form.get("victim_count", "").strip():
        body["victim_count"] = whole_number(form["victim_count"].strip())
    return body


def field_errors(problem_fields: Any) -> dict:
    """The API's `fields` {name: [messages]} (nested ones flattened to
    their top field, e.g. suspects.0 -> suspects) as {name: "message"}."""
    out: dict = {}

    def walk(name, value):
        if isinstance(value, dict):
            for inner in value.values():
                walk(name, inner)
        elif isinstance(value, list):
            for inner in value:
                walk(name, inner)
        elif value:
            out.setdefault(name, str(value))
    for name, value in (problem_fields or {}).items():
        walk(name.split(".")[0], value)
    return out
