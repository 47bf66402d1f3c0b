"""Alerts to police released in order per report or case, as the notices
are (ordering.py), with a cursor of their own so neither waits for the other.

Every event of a subject is stored on arrival (the same `events` record the
notices use, with an `alert_state` of its own); the subject's alert cursor
then raises the alerts of the next sequence while it is present, and moves
by a conditional update on its version. Two workers raising the same event
write the same alerts and deliveries (ids derive from the event and the
person), and only one moves the cursor. Each delivery names the one before
it on the same channel and person (or unit, for the robot) of the subject,
so it also goes out in order. A gap that outlives the notify policy's hold
is stepped over; an event that arrives after that is raised late.

An event stored before alerts were ordered (no `alert_state`) had its
alerts raised on arrival: it only moves the cursor.
"""
import logging

from services.notify import alerts
from services.notify.domain import in_flight, in_gaps, may_hold_late
from services.notify.taking import MarkNow

log = logging.getLogger(__name__)


class AlertOrder:
    def __init__(self, repo, alerter, max_hold, now, marks=None):
        self.repo, self.store = repo, repo.alerts
        # As the notices' (ordering.py): an in-order raise's mark may wait
        # for the shared write at the end of the handling (taking.py).
        self.marks = marks or MarkNow(repo, now)
        self.alerter = alerter
        self.max_hold = max_hold
        self.now = now

    def take(self, event, stored=None, cursor=None, taking=None):
        """Raise what the stored event lets through (`stored`: its record,
        when this handling took it: not read back; `cursor`: the alert
        cursor as read before it, when it was not stored first). An event
        in order for both cursors is raised here and its cursor moved by
        the handling's shared write (`taking`), then went_on."""
        if taking is not None and taking.defers(event):
            taking.defer("alerts", self.alert(cursor, stored))
            return
        cursor = self.advance(event["subject"], stored, own=event, cursor=cursor)
        if may_hold_late(cursor, stored):
            self.raise_late(event["subject"])

    def went_on(self, event, stored, moved, nothing_after=None):
        """What take() does after its own raise, once the shared write moved
        the cursor (`moved`: as it left it) or lost it to another (None).
        `nothing_after`: the place the notices' consumer found empty after
        the same write moved both cursors to it: not read again (whoever
        stores an event there later finds both cursors moved, and goes on)."""
        if moved and nothing_after == moved["released"]:
            cursor = moved
        else:
            cursor = self.advance(event["subject"], cursor=moved)
        if may_hold_late(cursor, stored):
            self.raise_late(event["subject"])

    def advance(self, subject_id, stored=None, own=None, cursor=None):
        """Raise what is next for this subject; the cursor as it was left.
        An event another handling stored a moment ago is left to it, until
        this one has raised something (domain.in_flight)."""
        cursor = cursor or self.store.cursor(subject_id)
        raised = False
        while True:
            event = self.repo.event_at(subject_id, cursor["released"] + 1, stored)
            if event is None or own and not raised and in_flight(event, own, self.now(), cursor):
                return cursor
            cursor = self._raise(cursor, event) or self.store.cursor(subject_id)
            raised = True

    def raise_late(self, subject_id):
        """Held events at or below the cursor: one in a stepped-over gap is
        raised now; any other was raised by a worker that marks it at the end
        of its handling (taking.py): left to it for the hold, and marked here
        only after that (its mark lost to a crash)."""
        cursor = self.store.cursor(subject_id)
        held = self.repo.alerts_held_up_to(subject_id, cursor["released"])
        settled = self.now() - self.max_hold
        for event in self.marks.waiting(held, "alert_state"):
            if in_gaps(cursor, event["sequence"]):
                self._raise(cursor, event, late=True)
                cursor = self.store.cursor(subject_id)
            elif event["received_at"] <= settled:
                self.repo.mark_alerted(event["_id"], self.now())

    def _raise(self, cursor, event, late=False):
        """The cursor as this raise left it, or None when another worker
        moved it first."""
        state = self.alert(cursor, event, late)
        if not self.store.advance_cursor(cursor, state):
            return None
        if late:  # its mark is what keeps it from being raised again: now
            self.repo.mark_alerted(event["_id"], self.now())
        else:     # the cursor keeps it from being raised again
            self.marks.alerted(event["_id"])
        return dict(cursor, **state, v=cursor["v"] + 1)

    def alert(self, cursor, event, late=False):
        """Raise the event's alerts; the cursor's next state, not moved yet."""
        lanes = dict(cursor.get("lanes") or {})
        if event.get("alert_state") == "held":
            self.alerter.take(dict(event, event_id=event["_id"]), lanes)
        # In order, the cursor also keeps the case's lead as this event names
        # it (the newest, as the cursor only moves forward): one write.
        return {"lanes": lanes} if late else {"released": event["sequence"], "lanes": lanes,
                                               **alerts.lead_in(event)}

    def release_overdue(self):
        """Subjects whose events wait past the hold: redo a raise a crash cut
        short, and step over a gap no event will fill."""
        cutoff = self.now() - self.max_hold
        for subject_id in self.repo.alerts_held_before(cutoff):
            self.advance(subject_id)
            self.raise_late(subject_id)
            cursor = self.store.cursor(subject_id)
            first = self.repo.first_held_after(subject_id, cursor["released"])
            if first is None or first["received_at"] > cutoff:
                continue
            gap = [cursor["released"] + 1, first["sequence"] - 1]
            log.warning("subject %s: sequences %s never arrived; alerts from %s on",
                        subject_id, gap, first["sequence"])
            if self.store.advance_cursor(cursor, {"released": first["sequence"] - 1,
                                                  "gaps": (cursor.get("gaps") or []) + [gap]}):
                self.advance(subject_id)
