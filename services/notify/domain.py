"""Notify's pure rules: which events become notices, and their text."""
import os
from datetime import datetime
from decimal import Decimal

import jinja2
import yaml

from shared.fields import SHANGHAI

DEFAULT_LANGUAGE = "zh-CN"


def money(value):
    """¥21,000.00: exact, from the decimal string, never through a float."""
    return f"¥{Decimal(value):,.2f}"


def shown(value):
    """An ISO time shown in Asia/Shanghai, to the minute."""
    return datetime.fromisoformat(value).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def load_templates(path=os.path.join(os.path.dirname(__file__), "templates.yml")):
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters.update(money=money, shown=shown)
    with open(path, encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    return {event_type: {lang: {part: env.from_string(text) for part, text in parts.items()}
                         for lang, parts in langs.items()}
            for event_type, langs in raw.items()}


def notice_for(event, language, templates, notice_id, now):
    """The feed notice an event gives its company, or None if it gives none."""
    texts = templates.get(event["type"])
    company_id = event["data"].get("company_id")
    if texts is None or not company_id:
        return None
    language = language if language in texts else DEFAULT_LANGUAGE
    d = event["data"]
    return {"_id": notice_id, "company_id": company_id, "event_id": event["event_id"],
            "event_type": event["type"], "subject": event["subject"],
            "sequence": event["sequence"], "language": language,
            "title": texts[language]["title"].render(d=d),
            "body": texts[language]["body"].render(d=d).strip(),
            "created_at": now}
