"""One handling of an event by notify: its notices released and its police
alerts raised, both cursors moved in one write, the event stored only when
it has to wait; the release marks of those written later, for many
handlings at once (issue 19).

The notices (ordering.py) and the alerts (alert_order.py) are two consumers
of the same event, each with its cursor on the subject's document. Each
used to keep an inbox record of it, store it and mark its release on it,
and move its own cursor: eight writes an event. An event that comes in
order — the next of its subject for both cursors, nothing to wait for:
nearly every one, as a process takes one report's events one at a time
(one_at_a_time) — is now told and raised first, then both cursors move in
one write (move), and it is not stored at all: the cursors keep it told.
Any other is stored held first; once released (by the handling of the
event before it, both cursors again in one write when they stand
together), its marks are left to write_left_marks, which writes those of
every handling of the last two seconds in up to three updates.

What guards what, now:
- a redelivery, or two instances taking the same message: the cursors. An
  event behind both for good was told: a redelivery finds it there (a
  duplicate, not stored, nothing released again, its handling goes on
  from the cursors); two copies told at once write the same notice, alerts
  and deliveries (ids derive from the event), and only one moves each
  cursor by its version. A held event's insert, keyed by the event id, is
  stored once.
- a crash after a release and before the move: the message is not acked;
  its redelivery tells it again (the same ids: nothing doubled) and moves.
  A crash after the move: the redelivery finds it behind the cursors and
  goes on. A crash between the insert of a held event and its release: the
  event stays `held`; the next event of its subject or the overdue sweep
  releases it. A crash after the releases and before the marks are written
  (up to two seconds later) loses only the marks: a held event at or below
  its cursor and in no gap is left for the hold, then marked by the next
  take or the sweep (a case's opening: after 30 s).
- one consumer failing on an event in order: the move moves the other's
  cursor alone, the event is stored with its marks, and the failed
  consumer's inbox retry takes it from there.
- the next event of the subject, taken at the same time (another instance;
  in one process they take turns): an event released first is not stored
  while it is released, so the other's handling finds nothing at its place
  and waits (as domain.in_flight has it wait for an event stored a moment
  ago); the move comes before either consumer reads the next place, which
  the other stored before it read the cursor: one of the two always sees
  the other.
- order per subject: the cursors, unchanged. The marks only tell the sweeps
  what is done; a mark written late is never a release told twice, because
  only in-order releases (never a late one, whose mark is what keeps it from
  being told again) are left to write_left_marks.
"""

from contextlib import contextmanager

from eventlet.semaphore import Semaphore

from services.notify import domain
from services.notify.alert_store import cursor_of
from services.notify.repository import subject_of


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
    """The marks one handling earns, kept until write() leaves them to
    write_left_marks."""

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
        # Left for write_left_marks: one update for many events, not one
        # each (the cursors, not the marks, keep them from being told twice).
        left = _LEFT.setdefault(self.repo.db.name, {})
        for event_id, fields in self.due.items():
            left.setdefault(event_id, set()).update(fields)
        self.due.clear()


# The marks in-order releases earned on events stored held, per database,
# until write_left_marks writes them: the events of many handlings in up to
# three updates (released for both, for the notices, for the alerts).
_LEFT: dict[str, dict[str, set[str]]] = {}


def write_left_marks(repo, now):
    """Write the release marks handlings left (notify's timer, every two
    seconds). A process that dies first loses them, as a crash between a
    release and its mark always could: the event stays held at or below
    its cursor, and the overdue sweeps mark it (ordering.py, alert_order.py)."""
    left = _LEFT.pop(repo.db.name, None)
    if left:
        try:
            repo.mark_many(left, now)
        except Exception:   # the database away: kept for the next try
            for event_id, fields in left.items():
                _LEFT.setdefault(repo.db.name, {}).setdefault(event_id, set()).update(fields)
            raise


class Taking:
    """One delivery of an event, shared by its two consumers."""

    def __init__(self, repo, now, once=True, max_hold=None):
        self.repo, self.now = repo, now
        # The policy's hold of an event that waits for a gap (None: no
        # guess that a subject is new, see _guess).
        self.max_hold = max_hold
        # once=False: a consumer called on its own (the inbox's retry) marks
        # as it goes, with nobody after it to write the shared marks.
        self.marks = (MarkOnce if once else MarkNow)(repo, now)
        self.fresh = None   # None: not taken by this handling yet
        # The record this handling stored, or stores at write(): its
        # consumers release it from here instead of reading it back (None:
        # stored before, read it).
        self.stored: dict | None = None
        self.pending = None   # an event in order: released first, stored only if it must be
        # The subject's notice and alert cursors as read (or guessed) before
        # an event in order was released; the notices' as the mark of one
        # stored to wait left it (None: read them).
        self.subject = self.cursor = None
        # That event's cursor moves: each consumer tells it and leaves its
        # cursor's next state here ("notices", "alerts"); move() writes both
        # in one update, and each consumer goes on from the cursor as the
        # write left it (None: another handling moved it first).
        self.deferred: dict[str, dict] = {}
        self.moved: dict[str, dict | None] = {}
        # The place after them the notices' consumer then found empty.
        self.nothing_after: int | None = None

    def store(self, event):
        """Take the event in once per handling; False when it was stored
        before (a redelivery, or another instance's copy), None when that
        is known only at write().

        The next event of its subject for both cursors is released before
        it is stored, and not stored at all once this handling moved both
        cursors past it (write()). Any other is stored first, held, and
        released after, as the next event's handling must find it stored
        when it reads the cursor (domain.in_flight). One behind both
        cursors for good is a duplicate, not stored; behind one, it is
        stored as told for that one."""
        if self.pending is not None:
            return None
        if self.fresh is not None:
            return self.fresh
        told = {}
        # An event an inbox retry takes is stored first (no shared write
        # after it); so is a case's opening whose acceptance is not told yet
        # (it waits for it: ordering.py).
        if isinstance(self.marks, MarkOnce) and self._acceptance_told(event):
            subject, cursor = self._guess(event)
            if domain.next_in_order(event, subject, cursor):
                self.stored = self.repo.event_record(event, self.now())
                self.pending, self.subject, self.cursor = event, subject, cursor
                return None   # new or a copy's: known at write()
            told = {"released": domain.told(subject, event["sequence"]),
                    "alerted": domain.told(cursor, event["sequence"])}
            if all(told.values()):
                # Behind both cursors for good: a redelivery (its handling
                # died after moving them), or a copy. They keep it told.
                self.fresh = False
                return False
        record = self.repo.event_record(event, self.now(), **told)
        self.fresh = self.repo.store_event(record)
        self.stored = record if self.fresh else None
        if record["state"] == "held":
            # Stored (now or before) to wait: `held` says so on its subject,
            # read right after the mark — the notices' consumer, first to
            # go, goes on from that (not read again; the alerts' reads its
            # cursor after that one may have moved it).
            # Marked again on a redelivery: a crash may have come between.
            self.subject = self.repo.mark_held(event["subject"], event["sequence"])
        return self.fresh

    def _acceptance_told(self, event):
        """Whether the acceptance a case's opening follows (if it is one)
        is told: the handlings of a report take turns in a process
        (one_at_a_time), so it nearly always is by then — and this process
        nearly always moved the report's cursor past it (a cursor only
        moves on: what it remembers is where it is at least)."""
        follows = domain.acceptance_it_follows(event)
        if not follows:
            return True
        report_id, sequence = follows
        seen = self.repo.remembered(report_id)
        if seen is not None and seen.get("released", 0) >= sequence:
            return True
        return self.repo.subject(report_id)["released"] >= sequence

    def _guess(self, event):
        """The subject's cursors: as this process last moved them (a
        report's next event, a moment after its last: one_at_a_time), or
        new for its first event, when that makes the event the next for
        both — the move that follows is conditional on exactly those
        versions, so a guess gone stale (another instance moved them, or a
        redelivery finds its subject made) only loses that move — else read."""
        seen = self.repo.remembered(event["subject"])
        if (seen is None and self.max_hold is not None
                and domain.surely_first(event, self.now(), self.max_hold)):
            # A subject's first event (a report received, a case opened),
            # fresh: its subject is new, nearly always — guessed so, unread
            # (issue 19). Never one that may come late, after a gap stepped
            # over: that one is told as late, behind its channels' lanes.
            return subject_of(event["subject"], None), cursor_of(event["subject"], None)
        if seen is not None:
            subject, cursor = subject_of(event["subject"], seen), cursor_of(event["subject"], seen)
            if domain.next_in_order(event, subject, cursor):
                return subject, cursor
        return self.repo.subject_and_cursor(event["subject"])

    def defers(self, event):
        """Whether a consumer tells this event now and leaves its cursor's
        move to move(): the event in order for both, not moved yet."""
        return (self.pending is not None and not self.moved
                and self.pending["event_id"] == event["event_id"])

    def defer(self, side, state):
        self.deferred[side] = state

    def move(self):
        """Both cursors of the event in order, in one write (issue 19: one
        write, not two), for the consumers that told it; whether any has to
        go on from its cursor now. The move, as before, comes before either
        reads the place after it (see "the next event" above)."""
        if self.pending is None or not self.deferred:
            return False
        notices, alerts = self.repo.move_cursors(
            self.subject, self.deferred.get("notices"), self.cursor, self.deferred.get("alerts"))
        self.moved = {side: moved for side, moved in (("notices", notices), ("alerts", alerts))
                      if side in self.deferred}
        return True

    def write(self):
        """After an event in order: nothing more when this handling moved
        both its cursors past it (they keep it told, and tell a redelivery
        so); else its record, with the marks its cursors' moves earned or
        another handling's made good. Then the marks of the others this
        handling released. Whether the event was new (None: not known
        here, stored before)."""
        fresh = None
        if self.pending is not None:
            marks, record = self.marks, self.stored
            assert isinstance(marks, MarkOnce) and record is not None  # as store() left them
            event_id = self.pending["event_id"]
            if self.moved.get("notices") and self.moved.get("alerts"):
                fresh = True
            else:
                fresh = self._record(event_id, record["received_at"])
            self.pending, self.fresh = None, fresh
        self.marks.write()
        return fresh

    def _record(self, event_id, received_at):
        """The record of an event in order whose cursors this handling did
        not both move: one side failed (its consumer's retry raises it from
        the record), or a copy of the event moved it first (then it is told
        as far as the cursors now say)."""
        marks, pending = self.marks, self.pending
        assert isinstance(marks, MarkOnce) and pending is not None   # as write() has them
        earned = marks.due.pop(event_id, set())
        earned |= {field for side, field in (("notices", "state"), ("alerts", "alert_state"))
                   if self.moved.get(side)}
        if any(side in self.moved and not self.moved[side] for side in ("notices", "alerts")):
            subject, cursor = self.repo.subject_and_cursor(pending["subject"])
            sequence = pending["sequence"]
            earned |= ({"state"} if domain.told(subject, sequence) else set()) | (
                {"alert_state"} if domain.told(cursor, sequence) else set())
            if earned >= {"state", "alert_state"}:
                return False   # a copy's handling moved both: they keep it told
        fresh = self.repo.store_event(self.repo.event_record(
            pending, received_at, released="state" in earned, alerted="alert_state" in earned))
        if "state" not in earned:   # it waits for the notices' retry: said on its subject
            self.repo.mark_held(pending["subject"], pending["sequence"])
        if not fresh:   # stored by a copy's handling: the marks go on it
            marks.due[event_id] = earned
        return fresh


# (database, subject, sequence, side) of each in-order release this process
# is making now. Two handlings often reach the same event at once (its own,
# and the one that moved the cursor to just before it); both used to tell
# it, write its notice, deliveries and alerts again, and lose the cursor.
_TELLING: set[tuple[str, str, int, str]] = set()


@contextmanager
def telling(repo, subject_id, sequence, side):
    """Whether this handling makes the release (`side`: "notices" or
    "alerts"): False while another handling of this process makes it — one
    that goes on after it, as every in-order release does — so this one
    leaves it (and what follows) to that one."""
    key = (repo.db.name, subject_id, sequence, side)
    if key in _TELLING:
        yield False
        return
    _TELLING.add(key)
    try:
        yield True
    finally:
        _TELLING.discard(key)


# Per report (its case's opening with it): the handlings of this process
# taking its events, one at a time, and how many wait.
_ONE_AT_A_TIME: dict[str, list] = {}


def order_key(body):
    """The report a message's event belongs to, as it came (not validated
    yet: None when it cannot say)."""
    try:
        follows = domain.acceptance_it_follows(body)
        return str(follows[0] if follows else body["subject"])
    except (KeyError, TypeError, AttributeError, IndexError):
        return None


@contextmanager
def one_at_a_time(body):
    """The handlings of one report's events in this process, and of its
    case's opening, one after the other (issue 19). A report accepted
    while its receipt is told used to be stored held by its own handling
    and told by the receipt's, with both racing to tell it and to open its
    case, one losing each cursor write; waiting its turn (tens of ms), it
    comes in order: stored once, as released, both cursors in one write.
    Order itself never rested on this: another instance's handlings, and
    the inbox's retries, still run side by side, as the cursors allow."""
    key = order_key(body)
    if key is None:   # the inbox refuses it
        yield
        return
    entry = _ONE_AT_A_TIME.setdefault(key, [Semaphore(1), 0])
    entry[1] += 1
    try:
        with entry[0]:
            yield
    finally:
        entry[1] -= 1
        if entry[1] == 0:
            del _ONE_AT_A_TIME[key]
