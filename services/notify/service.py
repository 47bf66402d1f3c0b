"""Notify: every disclosable step reaches the company, once, in its language."""
import base64
from datetime import datetime

from nameko.events import event_handler

from services.notify import domain
from services.notify import schemas as s
from services.notify.repository import Repository
from shared import clock
from shared.errors import BadRequest
from shared.http import ServiceBase, api
from shared.mongo import Mongo

class NotifyService(ServiceBase):
    name = "notify"

    repo = Mongo("notify", Repository)
    templates = domain.load_templates()

    # -- events in ---------------------------------------------------------
    @event_handler("intake", "company_registered")
    def handle_company_registered(self, body):
        self.inbox.consume(body, self.remember_company)

    def remember_company(self, event):
        self.repo.save_company(event["data"], event["sequence"])

    @event_handler("intake", "report_received")
    @event_handler("intake", "report_acknowledged")
    @event_handler("intake", "report_accepted")
    @event_handler("intake", "stop_payment_requested")
    @event_handler("case_supervision", "case_opened")
    def handle_event(self, body):
        self.inbox.consume(body, self.add_notice)

    def add_notice(self, event):
        company = self.repo.company(event["data"].get("company_id"))
        notice = domain.notice_for(event, company.get("language"), self.templates,
                                   clock.new_id(), clock.now())
        if notice:
            self.repo.add_notice(notice)  # unique (company, event): once

    # -- the feed ----------------------------------------------------------
    @api("GET", "/notices", roles=("company",), query=s.NoticeQuery, answer=s.NoticePage)
    def list_notices(self, call):
        after = decode_cursor(call.query.get("after"))
        items = self.repo.notices(call.who.subject, after, call.query["limit"])
        nxt = encode_cursor(items[-1]) if len(items) == call.query["limit"] else None
        return {"items": items, "next": nxt}


def encode_cursor(notice):
    raw = f"{notice['created_at'].isoformat()}|{notice['_id']}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor):
    if not cursor:
        return None
    try:
        at, notice_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(at), notice_id
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the cursor is not one this feed gave")
