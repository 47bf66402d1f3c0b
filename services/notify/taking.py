"""One handling of an event by notify: stored once, its notices released and
its police alerts raised, their release marks written together (issue 19).

The notices (ordering.py) and the alerts (alert_order.py) are two consumers
of the same event. Each used to keep an inbox record of it, store it (the
second insert a refused duplicate, still a command) and mark its release on
it: six writes an event for what one insert and one update now say.

What guards what, now:
- a redelivery, or two instances taking the same message: the event's
  insert is keyed by its id (refused the second time), and every effect
  after it is keyed or conditional as before — the subject's and the alert
  cursor's versions move once, a notice is unique per company and event, an
  alert per event and person, a delivery's id derives from its notice or
  alert. A redelivered event costs reads only, unless a release is still due.
- a crash between the insert and a release: the event stays `held`; the
  next event of its subject or the overdue sweep releases it (ordering.py,
  alert_order.py), as before. A crash after the releases and before the
  marks loses only the marks: a held event at or below its cursor and in no
  gap is left to its own handling for the hold (no second mark from a
  concurrent worker), then marked by the next take or the overdue sweep.
- order per subject: the cursors, unchanged. The marks only tell the sweeps
  what is done; a mark written late is never a release told twice, because
  only in-order releases (never a late one, whose mark is what keeps it from
  being told again) wait for the shared write.
"""


class MarkNow:
    """Each release marked on its event as it happens: a sweep, a retry."""

    def __init__(self, repo, now):
        self.repo, self.now = repo, now

    def released(self, event_id):
        self.repo.mark_released(event_id, self.now())

    def alerted(self, event_id):
        self.repo.mark_alerted(event_id, self.now())

    def waiting(self, events, field):
        """The held events whose mark is not merely still to be written."""
        return events

    def write(self):
        pass   # written already


class MarkOnce(MarkNow):
    """The marks one handling earns, kept until write(): one update an event."""

    def __init__(self, repo, now):
        super().__init__(repo, now)
        self.due: dict[str, set[str]] = {}

    def released(self, event_id):
        self.due.setdefault(event_id, set()).add("state")

    def alerted(self, event_id):
        self.due.setdefault(event_id, set()).add("alert_state")

    def waiting(self, events, field):
        # Released a moment ago by this handling, its mark not written yet:
        # not a stray to mark on its own (a write the shared one makes).
        return [e for e in events if field not in self.due.get(e["_id"], ())]

    def write(self):
        for event_id, fields in self.due.items():
            self.repo.mark(event_id, "state" in fields, "alert_state" in fields, self.now())
        self.due.clear()


class Taking:
    """One delivery of an event, shared by its two consumers."""

    def __init__(self, repo, now, once=True):
        self.repo, self.now = repo, now
        # once=False: a consumer called on its own (the inbox's retry) marks
        # as it goes, with nobody after it to write the shared marks.
        self.marks = (MarkOnce if once else MarkNow)(repo, now)
        self.fresh = None   # None: not stored by this handling yet
        # The record this handling stored: its consumers release it from
        # here instead of reading it back (None: stored before, read it).
        self.stored = None

    def store(self, event):
        """Store the event once per handling; False when it was stored
        before (a redelivery, or another instance's copy)."""
        if self.fresh is None:
            self.stored = self.repo.take_event(event, self.now())
            self.fresh = self.stored is not None
        return self.fresh
