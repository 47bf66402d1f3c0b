"""The one-time checklist after receipt (一次性告知), pure.

Items are marked supplied against the checklist told at receipt; anything an
officer asks for later is an *extra request*, recorded against the unit that
owned the report then — the rule is that a company never makes a second trip.
"""
from services.intake import evidence
from services.intake.domain import RuleError, event_data, missing
from shared import history

# A file uploaded, superseded or disclosed: told to case_supervision, which
# writes it into the case's history (the company's view shows it only when
# `disclosed`).
EVIDENCE_RECORDED = "report_evidence_recorded"

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


def uploaded(report, who, now, code, record):
    """A file handed in for checklist item `code` (or as other evidence):
    the item counts as supplied, and the upload stands in the history. The
    event the waiting case listens for is caused only when an item newly
    becomes supplied."""
    if report["status"] not in OPEN:
        raise RuleError(f"a report that is {report['status']} takes no materials")
    newly = [m["code"] for m in report["materials"] if m["code"] == code and not m["supplied"]]
    materials = [dict(m, supplied=True, supplied_at=now) if m["code"] in newly else m
                 for m in report["materials"]]
    after = dict(report, materials=materials)
    entry = history.by(who, "upload_evidence", now, missing(report), missing(after),
                       code=code, file_id=record["_id"], sha256=record["sha256"],
                       size=record["size"], filename=record["filename"],
                       content_type=record["content_type"])
    events = [("report_materials_supplied", event_data(after, supplied=newly))] if newly else []
    events.append(evidence_recorded(after, who, now, "upload_evidence", record))
    return {"materials": materials}, [entry], events


def insufficient(report, who, now, code, reason):
    """An officer finds what was handed in for an item not enough: the item
    is open again, as an extra request against the owner unit (the company
    was told the checklist once), and the company is told why."""
    if report["status"] not in OPEN:
        raise RuleError(f"a report that is {report['status']} takes no materials")
    item = next((m for m in report["materials"] if m["code"] == code), None)
    if item is None:
        raise RuleError(f"not on this report's checklist: {code}")
    if not item["supplied"]:
        raise RuleError(f"nothing has been supplied for {code} yet")
    reopened = dict(item, supplied=False, insufficient=reason, requested_at=now,
                    requested_by=who.subject, responsible_unit_id=report["owner_unit_id"])
    materials = [reopened if m["code"] == code else m for m in report["materials"]]
    after = dict(report, materials=materials)
    entry = history.by(who, "mark_insufficient", now, missing(report), missing(after),
                       note=reason, code=code)
    return {"materials": materials}, [entry], [
        ("report_extra_materials_requested", event_data(
            after, items=[{"code": code, "label": item["label"]}],
            requested_by=who.subject, responsible_unit_id=report["owner_unit_id"],
            reason=reason))]


def superseded(report, who, now, record, reason):
    """A file replaced as wrong: both stay; the history says which and why."""
    return {"evidence_changed_at": now}, [history.by(who, "supersede_evidence", now, note=reason,
                           code=record["code"], file_id=record["_id"])], [
        evidence_recorded(report, who, now, "supersede_evidence", record, reason=reason)]


def disclosed(report, who, now, record):
    """An officer's file shown to the company from now on."""
    return {"evidence_changed_at": now}, [history.by(
        who, "disclose_evidence", now, code=record["code"], file_id=record["_id"],
        filename=record["filename"])], [
        evidence_recorded(report, who, now, "disclose_evidence", record)]


def evidence_recorded(report, who, now, action, record, **extra):
    """The event of one step of a file's record, with what the case's
    history keeps of it."""
    return (EVIDENCE_RECORDED, event_data(
        report, action=action, file_id=record["_id"], code=record["code"],
        filename=record["filename"], sha256=record["sha256"], size=record["size"],
        content_type=record["content_type"], actor=who.subject, role=who.role,
        unit=who.unit, at=now.isoformat(), disclosed=evidence.company_sees(record),
        **extra))
