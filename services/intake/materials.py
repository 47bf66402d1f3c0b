"""The one-time checklist after receipt (一次性告知), pure.

Items are marked supplied against the checklist told at receipt; anything an
officer asks for later is an *extra request*, recorded against the unit that
owned the report then — the rule is that a company never makes a second trip.
"""
from services.intake.domain import RuleError, event_data, missing
from shared import history

OPEN = ("received", "acknowledged", "transfer_pending", "accepted")


def supply(report, who, now, codes):
    if report["status"] not in OPEN:
        raise RuleError(f"a report that is {report['status']} takes no materials")
    known = {m["code"] for m in report["materials"]}
    unknown = sorted(set(codes) - known)
    if unknown:
        raise RuleError(f"not on this report's checklist: {', '.join(unknown)}")
    materials = [dict(m, supplied=True, supplied_at=now) if m["code"] in codes
                 and not m["supplied"] else m for m in report["materials"]]
    after = dict(report, materials=materials)
    return {"materials": materials}, [
        history.by(who, "supply_materials", now, missing(report), missing(after))], [
        ("report_materials_supplied", event_data(after, supplied=sorted(codes)))]


def request_extra(report, who, now, items, reason):
    if report["status"] not in OPEN:
        raise RuleError(f"a report that is {report['status']} takes no materials")
    known = {m["code"] for m in report["materials"]}
    clash = sorted({i["code"] for i in items} & known)
    if clash:
        raise RuleError(f"already on this report's checklist: {', '.join(clash)}")
    added = [{"code": i["code"], "label": i["label"], "supplied": False, "extra": True,
              "requested_at": now, "requested_by": who.subject,
              "responsible_unit_id": report["owner_unit_id"]} for i in items]
    after = dict(report, materials=report["materials"] + added)
    # The whole list is written: the write is conditional on the version read.
    entry = history.by(who, "request_extra_materials", now, note=reason,
                       items=[i["code"] for i in items])
    return {"materials": after["materials"]}, [entry], [
        ("report_extra_materials_requested", event_data(
            after, items=[{"code": i["code"], "label": i["label"]} for i in items],
            requested_by=who.subject, responsible_unit_id=report["owner_unit_id"],
            reason=reason))]
