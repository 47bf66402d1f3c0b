"""Releasing events in order, and the follow-up sweep (定期回訪).

Every event of a subject is stored on arrival (taking.py); the subject's cursor then
releases the next sequence while it is present: its notice and its
deliveries are written first, then the cursor moves by a conditional
update on the subject's version. Two workers releasing the same event write
the same notice and deliveries (ids derived from the event id), and only one
moves the cursor; a crash before the move is redone by the next arrival or
by the sweep. A gap that outlives the policy's hold is stepped over, so a
lost or unknown event can delay notices but never stop them.
"""
import logging
import uuid
from datetime import timedelta

from services.notify import domain
from services.notify.endpoint_rules import endpoint_deliveries
from services.notify.channels import channels_of
from services.notify.alert_store import cursor_of
from services.notify.taking import MarkNow, telling

log = logging.getLogger(__name__)
NAMESPACE = uuid.UUID("5b0d9a53-52a4-4d43-9d43-3f0b8e0c5a61")


def notice_id(key):
    return str(uuid.uuid5(NAMESPACE, key))


class Sequencer:
    def __init__(self, repo, templates, policy, now, channels_of=channels_of,
                 endpoints_of=lambda company_id: [], marks=None, alert_order=None):
        self.repo = repo
        # The alerts' order (alert_order.py): an event next for both cursors
        # is told and raised with one move; the alert cursors so moved, per
        # subject, for the alerts' consumer to go on from.
        self.alert_order = alert_order
        self.alert_cursors: dict = {}
        # subject -> the place this sequencer last found empty, read after
        # its cursor's move: the alerts' consumer, its cursor at the same
        # place by the same write, need not read it again (service.py).
        self.nothing_after: dict = {}
        # How an in-order release is marked on its event: at once, or with
        # the alerts' mark in one write at the end of the handling (taking.py).
        self.marks = marks or MarkNow(repo, now)
        self.templates = templates
        self.follow_up_after = float(policy["follow_up_after_seconds"])
        self.max_hold = timedelta(seconds=float(policy["order_max_hold_seconds"]))
        self.now = now
        # subscription -> the channels it gets deliveries on (the Channels
        # provider's `of`: only channels this config delivers on).
        self.channels_of = channels_of
        # company id -> its enabled webhook endpoints (endpoints.py), each a lane
        self.endpoints_of = endpoints_of

    def take(self, event, stored=None, subject=None, taking=None):
        """Release what the stored event lets through; how many deliveries
        that wrote (the courier is woken for them). `stored`: its record,
        when this handling took it (not read back); `subject`: the subject
        as read before it (taking.py), when it was not stored first. An
        event in order for both cursors is told here and its cursor moved
        by the handling's shared write (`taking`), then went_on."""
        if taking is not None and taking.defers(event):
            written, state = self._tell(subject, dict(stored, event_id=event["event_id"]))
            taking.defer("notices", state)
            return written
        opened: set = set()
        written, subject = self.advance(event["subject"], opened, stored, own=event,
                                        subject=subject)
        case_id = domain.opens_a_case(event)
        if case_id and case_id not in opened:
            # Not released just now (a redelivery: a crash may have cut the
            # first handling short between the report's cursor and its case).
            written += self.open_case(case_id)
        if domain.may_hold_late(subject, stored):
            written += self.release_late(event["subject"])
        return written

    def went_on(self, event, stored, moved):
        """What take() does after its own release, once the shared write
        moved the cursor (`moved`: the subject as it left it) or lost it to
        another handling (None)."""
        subject = moved or self.repo.subject(event["subject"])
        written, opened = 0, set()
        case_id = domain.opens_a_case(event)
        if case_id:  # its case's opening may have waited for this
            written += self.open_case(case_id)
            opened.add(case_id)
        more, subject = self.advance(event["subject"], opened, subject=subject)
        written += more
        if domain.may_hold_late(subject, stored):
            written += self.release_late(event["subject"])
        return written

    def advance(self, subject_id, opened=None, stored=None, own=None, subject=None):
        """Release what is next for this subject, as far as it goes; the
        deliveries written and the subject as it was left. `opened` collects
        the cases whose openings were let through (and advanced) on the way;
        `stored`: an event record in hand, used when its turn comes; `own`:
        the event this handling is for (domain.in_flight); `subject`: as
        read already."""
        written, released = 0, False
        subject = subject or self.repo.subject(subject_id)
        while True:
            # The next place is read only when the subject (as read, or as
            # this handling's move left it) says an event may wait there.
            event = (None if domain.nothing_held_after(subject, stored) else
                     self.repo.event_at(subject_id, subject["released"] + 1, stored))
            if event is None:
                self.nothing_after[subject_id] = subject["released"]
                return written, subject
            if self._waits_for_its_report(event):
                return written, subject
            if own and not released and domain.in_flight(event, own, self.now(), subject):
                return written, subject
            with telling(self.repo, subject_id, event["sequence"], "notices") as mine:
                if not mine:   # another handling here tells it, and goes on after
                    return written, subject
                done, moved = self._release(subject, dict(event, event_id=event["_id"]))
            written, released = written + done, True
            # Moved: the subject as this release's write left it (not read
            # back); lost to another worker: as that one left it.
            subject = moved or self.repo.subject(subject_id)
            case_id = domain.opens_a_case(event)
            if case_id:  # its case's opening may have waited for this
                written += self.open_case(case_id)
                if opened is not None:
                    opened.add(case_id)

    def open_case(self, case_id):
        """Release a case's opening (its first event) that waited for the
        acceptance just told (_waits_for_its_report), and what followed it.
        Its record is read first, the case's cursor only when it is there:
        nearly always it is not, the opening being published after the
        acceptance and taken after it (issue 19: one read, not two). One
        not stored is being told in order by its own handling, which goes
        on from the case's cursor itself."""
        opening = self.repo.event_at(case_id, 1)
        if opening is None:
            return 0
        return self.advance(case_id, stored=opening)[0]

    def _waits_for_its_report(self, event):
        """A case's opening waits until the acceptance that opened it is
        released (the report's own order), so the company is told them in
        the order they happened; for the hold at most, like a gap, should
        the acceptance never arrive."""
        follows = domain.acceptance_it_follows(event)
        if not follows or event["received_at"] <= self.now() - self.max_hold:
            return False
        report_id, sequence = follows
        return self.repo.subject(report_id)["released"] < sequence

    def release_late(self, subject_id):
        """An event that arrives after its gap was stepped over is still
        told, late, after what its channels already carry; a stray that is
        not in a gap (a second event with a used sequence) is set aside."""
        written = 0
        for _ in range(5):
            subject = self.repo.subject(subject_id)
            held = self.marks.waiting(self.repo.held_up_to(subject_id, subject["released"]),
                                      "state")
            # One in no gap was released by a concurrent worker that marks
            # it at the end of its handling (taking.py), with the alerts'
            # mark: left to it for the hold. Still held after that, its mark
            # was lost to a crash, or it repeats a used sequence (a
            # producer's bug, kept in the events collection): marked here.
            settled = self.now() - self.max_hold
            late = [e for e in held if domain.in_gaps(subject, e["sequence"])
                    or e["received_at"] <= settled]
            if not late:
                return written
            for event in late:
                if domain.in_gaps(subject, event["sequence"]):
                    written += self._release(subject, dict(event, event_id=event["_id"]),
                                             late=True)[0]
                else:
                    if self.repo.events_at(subject_id, event["sequence"]) > 1:
                        log.error("subject %s: event %s repeats sequence %s; not told",
                                  subject_id, event["_id"], event["sequence"])
                    self.repo.mark_released(event["_id"], self.now())
                break  # the subject moved: read it again
        return written

    def _release(self, subject, event, late=False):
        """Tell the event; (deliveries written, the subject as this release
        left it, or None when another worker moved it first). In order, and
        next for the alerts too, its alerts are raised here and both
        cursors moved in one write (issue 19)."""
        written, state = self._tell(subject, event, late)
        if not late and self.alert_order is not None:
            cursor = cursor_of(subject["_id"], subject)
            if cursor["released"] == subject["released"]:
                return written, self._with_alerts(subject, state, cursor, event)
        moved = self.repo.advance_subject(subject, state)
        if moved is None:
            return written, None
        if late:  # its mark is what keeps it from being told again: now
            self.repo.mark_released(event["event_id"], self.now())
        else:     # the cursor keeps it from being told again
            self.marks.released(event["event_id"])
        return written, moved

    def _with_alerts(self, subject, state, cursor, event):
        """Raise the alerts of an event told in order, then move both its
        cursors in one write; the subject as moved (its alert cursor with
        it), or None when another handling moved the notices' first. Its
        alerts failing, the notices' cursor moves alone: the alerts' own
        consumer meets the failure, which the inbox retries."""
        alert_state = None
        with telling(self.repo, subject["_id"], event["sequence"], "alerts") as mine:
            if mine:
                try:
                    alert_state = self.alert_order.alert(cursor, event)
                except Exception:
                    log.warning("alerts of %s left to their own consumer", event["event_id"],
                                exc_info=True)
            moved, alerts_moved = self.repo.move_cursors(subject, state, cursor, alert_state)
        if alerts_moved:
            self.alert_order.marks.alerted(event["event_id"])
            self.alert_cursors[subject["_id"]] = alerts_moved
        if not moved:
            return None
        self.marks.released(event["event_id"])
        return moved

    def _tell(self, subject, event, late=False):
        """Write the event's notice and deliveries; (deliveries written, the
        subject's next state), the cursor not moved yet."""
        company_id = event["data"].get("company_id") or subject.get("company_id")
        sub = self.repo.subscription(company_id) if company_id else None
        language = domain.language_of(sub, self.repo.company(company_id))
        now = self.now()
        notice = domain.notice_for(event, language, self.templates,
                                   notice_id(f"event:{event['event_id']}"),
                                   domain.notice_time(subject, now))
        deliveries = []
        if notice:
            if not self.repo.add_notice(notice):
                notice = self.repo.notice(notice["_id"])  # another worker's, same event
            lanes = subject.get("lanes") or {}
            deliveries = domain.deliveries_for(notice, self.channels_of(sub), lanes, now)
            deliveries += endpoint_deliveries(notice, self.endpoints_of(company_id), lanes, now)
            self.repo.deliveries.add(deliveries, now)
        state = domain.released(subject, event, notice, deliveries, self.follow_up_after)
        if late:  # told now, but the cursor and the case's state stay
            state = {k: state[k] for k in ("lanes", "last_notice_at", "last_step")
                     if k in state}
        return len(deliveries), state

    def release_waiting_openings(self):
        """A case's opening waits for its acceptance, and whoever releases
        the acceptance goes on to the case — unless it dies in between: its
        redelivery handles the report's other event, and the case's next
        event leaves the opening to its own handling (domain.in_flight),
        which has returned. An opening still held IN_FLIGHT after it came is
        released here when its acceptance has been; one already behind its
        case's cursor (its mark lost) is marked."""
        now = self.now()
        for event in self.repo.openings_held_before(now - domain.IN_FLIGHT):
            _, subject = self.advance(event["subject"])
            if (event["sequence"] <= subject["released"]
                    and not domain.in_gaps(subject, event["sequence"])):
                self.repo.mark_released(event["_id"], now)

    def release_overdue(self):
        """Subjects whose events wait past the hold: redo a release a crash
        cut short, and step over a gap no event will fill."""
        self.release_waiting_openings()
        now = self.now()
        cutoff = now - self.max_hold
        for subject_id in self.repo.held_before(cutoff):
            self.advance(subject_id)
            self.release_late(subject_id)
            subject = self.repo.subject(subject_id)
            first = self.repo.first_held_after(subject_id, subject["released"])
            if first is None or first["received_at"] > cutoff:
                continue
            gap = [subject["released"] + 1, first["sequence"] - 1]
            log.warning("subject %s: sequences %s never arrived; releasing %s on",
                        subject_id, gap, first["sequence"])
            state = {"released": first["sequence"] - 1,
                     "gaps": (subject.get("gaps") or []) + [gap]}
            if self.repo.advance_subject(subject, state):
                self.advance(subject_id)

    def send_follow_ups(self):
        """A case with no notice for the policy's interval gets one saying it
        is still being worked on. The subject's version is the claim: with
        any number of instances, one follow-up per interval."""
        now = self.now()
        for subject in self.repo.quiet_cases(now):
            sub = self.repo.subscription(subject["company_id"])
            language = domain.language_of(sub, self.repo.company(subject["company_id"]))
            key = f"follow-up:{subject['_id']}:{subject['quiet_due_at'].isoformat()}"
            notice = domain.follow_up_for(subject, language, self.templates,
                                          notice_id(key), notice_id(key + ":event"), now)
            lanes = subject.get("lanes") or {}
            deliveries = domain.deliveries_for(notice, self.channels_of(sub), lanes, now)
            deliveries += endpoint_deliveries(notice, self.endpoints_of(subject["company_id"]),
                                              lanes, now)
            state = domain.follow_up_state(notice, deliveries, subject.get("lanes"),
                                           self.follow_up_after)
            # Claim first: a crash after the claim costs one follow-up, while
            # writing first could race a real step's release on the channels.
            if self.repo.advance_subject(subject, state):
                self.repo.add_notice(notice)
                self.repo.deliveries.add(deliveries, now)
