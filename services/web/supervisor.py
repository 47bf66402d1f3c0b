"""The supervisor's pages: the board of flagged cases in their subtree
(live countdowns, amber before a deadline and red after, the escalation
rung), a case's supervision actions (escalate, 限期, reassign the lead,
sign off), the ledger (问题台账) with 销号, the scorecards (曝光台) as
charts, and the alerts inbox every police officer has.

Downloads (CSV/XLSX) are fetched server-side with the person's token and
handed on: the browser never holds a token."""
import json
import os
from datetime import timedelta
from typing import Optional

import requests
from werkzeug.wrappers import Response

from services.web import display, forms
from services.web.api import ApiError, Unavailable
from services.web.pages import Page, PageNotFound, page

SUPERVISOR = ("supervisor",)
POLICE = ("officer", "supervisor")
# The shipped case policy's warn share (policy/cases.yml escalation.warn_at),
# for cases stored before the API gave next_warning_at: the board then
# reckons amber from the share of a deadline's time that has run. A case the
# service has already warned about (a deadline_warning step) is amber
# whatever the share.
WARN_SHARE = 0.8
STARTS = ("open", "reopen", "set_deadline", "progress")
CLOCK_EVENTS = STARTS + ("deadline_warning", "deadline_missed")
BOARD_FILTERS = ("priority", "supervision", "status", "unit_id", "q")
DEADLINE_STAGES = ("first_action", "first_progress", "conclusion")
EXPORT_TYPES = {"csv": "text/csv; charset=utf-8",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
WEEKS = 6

# Served by us from the npm package the Makefile installs (no CDN).
display.STATIC.update({
    "echarts.min.js": os.path.join(display.HERE, "node_modules", "echarts", "dist",
                                   "echarts.min.js"),
    "charts.js": os.path.join(display.HERE, "static", "charts.js"),
    "console.js": os.path.join(display.HERE, "static", "console.js"),
    "console.css": os.path.join(display.HERE, "static", "console.css"),
})


def board_row(case: dict, now) -> dict:
    """A case as the board shows it: its next deadline, when it turns
    amber (warn_at) and whether it is amber or red now, its rung.

    A deadline missed stays red until someone acts on the case (progress or
    a supervisor's 限期), even when the next deadline is still ahead: the
    row then counts from the missed one."""
    history = case.get("history") or []
    # Cases stored before the service gave next_deadline_at have only the
    # sweep's next step (which may be a warning's time).
    due = display.parse(case.get("next_deadline_at") or case.get("next_due_at"))
    # The latest clock event: what the row's colour follows.
    last: dict = next((h for h in reversed(history) if h.get("action") in CLOCK_EVENTS), {})
    missed = last.get("action") == "deadline_missed"
    if missed and (case.get("deadlines") or {}).get(last.get("after") or ""):
        due = display.parse(case["deadlines"][last["after"]])
    started = next((display.parse(h.get("at")) for h in reversed(history)
                    if h.get("action") in STARTS and h.get("at")), None) \
        or display.parse(case.get("opened_at"))
    warn_at = display.parse(case.get("next_warning_at")) if not missed else None
    if warn_at is None and due and started and due > started and "next_deadline_at" not in case:
        warn_at = started + timedelta(seconds=(due - started).total_seconds() * WARN_SHARE)
    left = display.remaining(due, now)
    if left is None:
        state = ""
    elif left < 0 or missed:
        state = "overdue"
    elif last.get("action") == "deadline_warning" or (warn_at is not None and warn_at <= now):
        state = "warn"
    else:
        state = "ok"
    rung = next((h.get("rung") for h in reversed(history) if h.get("rung")), None)
    return {"case": case, "due": due.isoformat() if due else None, "left": left,
            "state": state, "missed": missed,
            "warn_at": warn_at.isoformat() if warn_at else "", "rung": rung,
            "level": case.get("escalation_level") or 0}


def board_page(p) -> int:
    """Cases on a page of the board (config WEB_BOARD_PAGE, 200)."""
    return int(p.config.get("WEB_BOARD_PAGE") or 200)


def board_rows(cases, now) -> list:
    rows = [board_row(c, now) for c in cases if c.get("stage") != "closed"]
    rows.sort(key=lambda r: (r["left"] is None, r["left"] if r["left"] is not None else 0))
    return rows


def week_ranges(now, weeks=WEEKS):
    """The last `weeks` whole days-aligned weeks, oldest first, the last
    ending now: [(from, to)] for GET /scorecards."""
    end = now.replace(microsecond=0)
    return [(end - timedelta(days=7 * (i + 1)), end - timedelta(days=7 * i))
            for i in reversed(range(weeks))]


def chart_data(cards, weekly, names) -> dict:
    """What charts.js draws: one bar per unit for each measure, and each
    unit's weekly line. Plain numbers only: the page carries it as JSON in a
    data-* attribute (no inline script under our CSP)."""
    units = [c["unit_id"] for c in cards]

    def ack_minutes(card):
        s = (card.get("time_to_acknowledge") or {}).get("median_seconds")
        return round(s / 60, 1) if s is not None else 0

    def rating(card):
        avg = (card.get("satisfaction") or {}).get("average")
        return float(avg) if avg is not None else 0
    return {
        "units": [names.get(u, u) for u in units],
        "series": {
            "ack": [ack_minutes(c) for c in cards],
            "missed": [c.get("deadlines_missed", 0) for c in cards],
            "escalations": [c.get("escalations", 0) for c in cards],
            "transfers": [c.get("transfers_out", 0) for c in cards],
            "satisfaction": [rating(c) for c in cards],
        },
        "weeks": [display.day(start) for start, _ in weekly["ranges"]],
        "weekly": {names.get(u, u): [next((c.get("deadlines_missed", 0) + c.get("escalations", 0)
                                           for c in week if c["unit_id"] == u), 0)
                                     for week in weekly["cards"]] for u in units},
    }


class Supervisor:
    # -- helpers -------------------------------------------------------------
    def _unit_names(self, p: Page) -> dict:
        units = p.api("intake").get("/units")["items"]
        return {u["unit_id"]: (u["name"] if p.lang == "zh-CN" else u.get("name_en") or u["name"])
                for u in units}

    def _leads(self, p: Page, rows) -> dict:
        """Officer names for the lead column, from the units' directories
        (the case carries the lead's id)."""
        names: dict = {}
        for unit in sorted({r["case"].get("unit_id") for r in rows if r["case"].get("unit_id")})[:20]:
            for o in p.api("intake").get(f"/units/{unit}/officers")["items"]:
                names[o["officer_id"]] = o["name"]
        return names

    def _board(self, p: Page):
        args = p.request.args
        filters = {k: args.get(k).strip() for k in BOARD_FILTERS if (args.get(k) or "").strip()}
        try:
            # A page of the API's list (newest cases first), shown by what is
            # due next; `after` is the API's own cursor for the next page.
            found = p.api("cases").get("/cases", limit=board_page(p),
                                       after=args.get("after") or None, **filters)
            problem = None
        except ApiError as exc:
            if exc.status != 422:
                raise
            found, problem = {"items": [], "next": None}, exc.detail
        return board_rows(found["items"], p.now), filters, problem, found.get("next")

    def _download(self, p: Page, service: str, path: str, name: str) -> Response:
        """An export fetched with the person's token and handed on."""
        fmt = p.request.args.get("format", "csv")
        if fmt not in EXPORT_TYPES:
            raise PageNotFound()
        api = p.api(service)
        params = {k: v for k, v in p.request.args.items() if k != "format" and v}
        try:
            resp = requests.get(api.base + path, params=dict(params, format=fmt),
                                headers=api.headers({"Accept": EXPORT_TYPES[fmt]}),
                                timeout=api.timeout * 3)
        except requests.RequestException as exc:
            raise Unavailable(503, {"detail": type(exc).__name__}) from exc
        if resp.status_code != 200:
            raise ApiError(resp.status_code, {"detail": resp.text[:200]})
        out = Response(resp.content, mimetype=EXPORT_TYPES[fmt].split(";")[0])
        out.headers["Content-Type"] = EXPORT_TYPES[fmt]
        out.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
        return out

    # -- the board -----------------------------------------------------------
    @page("GET", "/supervisor", SUPERVISOR)
    def supervisor_board(self, p: Page):
        rows, filters, problem, more = self._board(p)
        return p.render("supervisor/board.html", rows=rows, filters=filters, problem=problem,
                        more=more, after=p.request.args.get("after"), page_size=board_page(p),
                        names=self._unit_names(p), display=display,
                        leads=self._leads(p, rows),
                        query=p.request.query_string.decode())

    @page("GET", "/supervisor/board", SUPERVISOR)
    def supervisor_board_rows(self, p: Page):
        """The board's rows alone, which the board asks for every few seconds."""
        rows, _, _, _ = self._board(p)
        return p.render("supervisor/_board.html", rows=rows, names=self._unit_names(p),
                        display=display, leads=self._leads(p, rows))

    # -- a case --------------------------------------------------------------
    def _case_page(self, p: Page, case_id, status=200, errors=None, values=None,
                   problem=None, failed: Optional[str] = None):
        case = p.api("cases").get(f"/cases/{case_id}")
        officers = p.api("intake").get(f"/units/{case['unit_id']}/officers")["items"]
        return p.render("supervisor/case.html", status=status, case=case, officers=officers,
                        row=board_row(case, p.now), names=self._unit_names(p),
                        errors=errors or {}, values=values or {}, problem=problem,
                        failed=failed, display=display, stages=DEADLINE_STAGES)

    @page("GET", "/supervisor/cases/<case_id>", SUPERVISOR)
    def supervisor_case(self, p: Page, case_id):
        return self._case_page(p, case_id)

    @page("POST", "/supervisor/cases/<case_id>/<action>", SUPERVISOR)
    def supervisor_act(self, p: Page, case_id, action):
        form = p.form
        if action == "escalate":
            body: Optional[dict] = {"reason": form.get("reason", "").strip()}
        elif action == "deadline":
            body = {"stage": form.get("stage", ""), "reason": form.get("reason", "").strip(),
                    "due_at": forms.beijing_instant(form.get("due_at", "").strip())
                    if form.get("due_at", "").strip() else ""}
            if not body["due_at"]:
                del body["due_at"]
        elif action == "lead":
            body = {"officer_id": form.get("officer_id", ""),
                    "reason": form.get("reason", "").strip()}
        elif action == "close":
            body = None
        else:
            raise PageNotFound()
        refused = p.submit("cases", f"/cases/{case_id}/{action}", body)
        if refused:
            return self._case_page(p, case_id, status=refused.status,
                                   errors=forms.field_errors(refused.fields), values=form,
                                   problem=refused.detail, failed=action)
        p.flash({"escalate": p.t("Escalated one rung."),
                 "deadline": p.t("Deadline set; the team is held to it."),
                 "lead": p.t("The lead officer was changed."),
                 "close": p.t("Case signed off.")}[action])
        return p.redirect(f"/supervisor/cases/{case_id}")

    # -- the ledger (问题台账) ------------------------------------------------
    @page("GET", "/supervisor/ledger", SUPERVISOR)
    def supervisor_ledger(self, p: Page):
        showing = p.request.args.get("status", "open")
        showing = showing if showing in ("open", "resolved") else None
        found = p.api("cases").get("/ledger", status=showing,
                                   after=p.request.args.get("after") or None, limit=50)
        return p.render("supervisor/ledger.html", items=found["items"], more=found.get("next"),
                        showing=showing, names=self._unit_names(p), errors={})

    @page("POST", "/supervisor/ledger/<item_id>/resolve", SUPERVISOR)
    def supervisor_resolve(self, p: Page, item_id):
        refused = p.submit("cases", f"/ledger/{item_id}/resolve",
                           {"note": p.form.get("note", "").strip()})
        if refused:
            found = p.api("cases").get("/ledger", status="open", limit=50)
            return p.render("supervisor/ledger.html", status=refused.status,
                            items=found["items"], more=found.get("next"),
                            names=self._unit_names(p), showing="open",
                            errors={item_id: forms.field_errors(refused.fields).get("note")
                                    or refused.detail}, values=p.form)
        p.flash(p.t("Item resolved (销号)."))
        return p.redirect("/supervisor/ledger")

    @page("GET", "/supervisor/ledger/export", SUPERVISOR)
    def supervisor_ledger_export(self, p: Page):
        return self._download(p, "cases", "/ledger/export", "ledger")

    # -- the scorecards (曝光台) ----------------------------------------------
    @page("GET", "/supervisor/scorecards", SUPERVISOR)
    def supervisor_scorecards(self, p: Page):
        cases = p.api("cases")
        ranges = week_ranges(p.now)
        start, end = ranges[0][0], ranges[-1][1]
        cards = cases.get("/scorecards", **{"from": start.isoformat(), "to": end.isoformat()})
        weekly = {"ranges": ranges, "cards": [
            cases.get("/scorecards", **{"from": a.isoformat(), "to": b.isoformat()})["items"]
            for a, b in ranges]}
        names = self._unit_names(p)
        data = chart_data(cards["items"], weekly, names)
        return p.render("supervisor/scorecards.html", cards=cards["items"], names=names,
                        chart=json.dumps(data, ensure_ascii=False), start=start, end=end)

    @page("GET", "/supervisor/scorecards/export", SUPERVISOR)
    def supervisor_scorecards_export(self, p: Page):
        return self._download(p, "cases", "/scorecards/export", "scorecards")

    # -- alerts (every police officer) -----------------------------------------
    @page("GET", "/alerts", POLICE)
    def alerts_inbox(self, p: Page):
        found = p.api("notify").get("/alerts", after=p.request.args.get("after") or None,
                                    limit=50)
        return p.render("supervisor/alerts.html", alerts=found["items"],
                        unread=found.get("unread", 0), more=found.get("next"))

    @page("GET", "/alerts/count", POLICE)
    def alerts_count(self, p: Page):
        """The nav's unread count (htmx swaps it in, every half minute)."""
        try:
            unread = p.api("notify").get("/alerts", limit=1).get("unread", 0)
        except Unavailable:
            unread = 0
        return p.render("supervisor/_unread.html", unread=unread)

    @page("POST", "/alerts/<alert_id>/<action>", POLICE)
    def alerts_act(self, p: Page, alert_id, action):
        if action not in ("read", "ack"):
            raise PageNotFound()
        p.api("notify").post(f"/alerts/{alert_id}/{action}", key=p.form.get("idempotency_key"))
        p.flash(p.t("Alert acknowledged.") if action == "ack" else p.t("Marked as read."))
        return p.redirect("/alerts")
