"""How values are shown to people: money as ¥21,000.00, times in Beijing
time, countdowns; and the addresses of our static files."""
import hashlib
import os
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Optional
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")
HERE = os.path.dirname(os.path.abspath(__file__))
# Every file the browser loads, from our own folder or the npm packages the
# Makefile installed (services/web/node_modules): no CDN, no remote font.
STATIC = {
    "app.css": os.path.join(HERE, "static", "app.css"),
    "app.js": os.path.join(HERE, "static", "app.js"),
    "htmx.min.js": os.path.join(HERE, "node_modules", "htmx.org", "dist", "htmx.min.js"),
}
_versions: dict = {}


def money(value) -> str:
    """"21000" -> ¥21,000.00; anything that is not an amount is shown as is."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return str(value)
    return f"¥{amount:,.2f}"


def parse(value) -> Optional[datetime]:
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def when(value) -> str:
    """An instant in Beijing time, to the minute: 2026-11-30 21:15."""
    t = parse(value)
    return t.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if t else ""


def day(value) -> str:
    t = parse(value)
    return t.astimezone(BEIJING).strftime("%Y-%m-%d") if t else ""


def iso(value) -> str:
    t = parse(value)
    return t.isoformat() if t else ""


def remaining(due, now: datetime) -> Optional[int]:
    """Seconds until `due` (negative when overdue); None without a due time."""
    t = parse(due)
    return int((t - now).total_seconds()) if t else None


def countdown(seconds: Optional[int], say) -> str:
    """"2 h 05 min left" / "overdue by 3 min", in the reader's language
    (app.js keeps it ticking with the same words)."""
    if seconds is None:
        return ""
    left = abs(seconds)
    h, m = divmod(left // 60, 60)
    d, h = divmod(h, 24)
    if d:
        span = say("{d} d {h} h", d=d, h=h)
    elif h:
        span = say("{h} h {m} min", h=h, m=f"{m:02d}")
    else:
        span = say("{m} min", m=max(m, 1) if left else 0)
    return say("{span} left", span=span) if seconds >= 0 else say("overdue by {span}",
                                                                     span=span)


def static_url(name: str) -> str:
    """/static/<name>?v=<content hash>: cached for a year, changed with the file."""
    if name not in _versions:
        with open(STATIC[name], "rb") as f:
            _versions[name] = hashlib.sha256(f.read()).hexdigest()[:12]
    return f"/static/{name}?v={_versions[name]}"
