"""Documents that change rarely, kept in this process between handlings
(issue 19): a company's subscription and profile, its webhook endpoints, a
unit's duty roster and robot, a person's alert settings. Every event read
each of them again — 14 reads a report for what changes a few times a day.

What keeps a copy true is one counter per database (`epochs`, `_id`
"kept"): every change to a kept collection moves it after its write
(`changed()`), and a handling reads it once, the first time it asks for a
kept document. While the counter reads as it did when the copies were
taken, they are what the database holds; once it moved, every copy of
that database is dropped and read again. The counter is read before what
it guards, so a change landing in between is seen at the next handling,
never lost: no handling answers from a copy older than the last change
completed before it began — whichever instance made it.

Under load one read of the counter serves many handlings: a handling may
take the answer of a read another handling of its process began after it
began itself (it sees every change completed before either began), so the
handlings begun while a read is on its way share the next one (issue 19:
notify read the counter for each of its events, a tenth of its CPU).

An event's handling needs less: the changes completed before the event
occurred (what could have led to it), not before its handling began. So it
also takes the answer of any read begun after the event's `occurred_at`
(`after()`), up to FRESH_FOR old: under load, events wait in their queue,
and one read serves all those that occurred before it began (issue 19:
notify read the counter for nearly every event). The producer's clock is
the reference: clocks apart by more than what separates a change from an
event it led to could show a copy from just before that change.

A process that dies between a change and its counter leaves other
instances' copies stale; a copy is therefore also dropped after
KEEP_FOR, the bound on that staleness. (Not a TTL cache alone: that
would serve a replaced webhook URL for its whole life, every time.)
"""
import copy
import time
import uuid

from eventlet.event import Event
from pymongo.errors import DuplicateKeyError

EPOCHS = "epochs"
KEY = "kept"
KEEP_FOR = 60.0
FRESH_FOR = 1.0   # seconds an event's handling may take a read begun after the event


def serves_event(since, begun, now):
    """Whether an answer read from a read begun at `begun` (wall clock)
    serves the handling of an event that occurred at `since` (a timestamp;
    None: not an event's handling) at `now`: it began after the event, so
    it saw every change completed before it, and is under FRESH_FOR old."""
    return since is not None and begun >= since and now - begun < FRESH_FOR


class Memory:
    """One process's copies of one database's kept documents."""

    def __init__(self):
        self.epoch: tuple | None = None
        self.docs: dict = {}   # (collection, key) -> (value, taken at)
        self.reads = 0         # reads of the counter begun
        self.last: tuple | None = None      # (its number, what it read, begun at)
        self.pending: tuple | None = None   # (its number, Event of what it reads, begun at)


_MEMORIES: dict[str, Memory] = {}


class Kept:
    """One handling's view (one per worker, made with its repository)."""

    def __init__(self, db, memory=None, clock=time.monotonic, wall=time.time):
        self.db = db
        self.memory = memory if memory is not None else _MEMORIES.setdefault(db.name, Memory())
        self.clock, self.wall = clock, wall
        self.epoch: tuple | None = None   # this handling's reading of the counter
        self.began = self.memory.reads    # a read numbered above it began after us
        self.since: float | None = None   # an event's handling: when it occurred

    def after(self, occurred_at):
        """This handling is an event's, which occurred at `occurred_at` (an
        aware datetime; None: unknown, and a read begun after the handling
        is taken)."""
        self.since = occurred_at.timestamp() if occurred_at is not None else None

    def get(self, collection, key, load):
        """The kept copy of (collection, key), or `load()` and keep it."""
        return self.get_many(collection, [key], lambda keys: {key: load()})[key]

    def get_many(self, collection, keys, load):
        """{key: kept copy} for `keys`; `load(missing keys)` -> {key: value}
        reads the ones not kept (one query for them all), kept from then on."""
        if self.epoch is None:
            found = self._read_counter()
            # (the counter's birth, its count): a database recreated or
            # restored counts from its own birth, not on from ours.
            self.epoch = (found.get("born"), found.get("n", 0))
            kept = self.memory.epoch
            if kept is None or kept[0] != self.epoch[0] or kept[1] < self.epoch[1]:
                self.memory.epoch, self.memory.docs = self.epoch, {}
        if self.memory.epoch != self.epoch:
            # A handling that began before the counter's last move (another
            # worker of this process has read the newer one): read, don't keep.
            return load(list(keys))
        now, answer, missing = self.clock(), {}, []
        for key in keys:
            kept = self.memory.docs.get((collection, key))
            if kept and now - kept[1] < KEEP_FOR:
                answer[key] = copy.deepcopy(kept[0])
            else:
                missing.append(key)
        if missing:
            loaded = load(missing)
            for key in missing:
                value = loaded.get(key)
                self.memory.docs[(collection, key)] = (copy.deepcopy(value), now)
                answer[key] = value
        return answer

    def _read_counter(self):
        """The counter, as read by a read begun after this handling began:
        one another handling of this process made or is making, else ours."""
        memory = self.memory
        if memory.last and self._serves(memory.last):
            return memory.last[1]
        if memory.pending and self._serves(memory.pending):
            found = memory.pending[1].wait()
            if found is not None:
                return found
        memory.reads += 1
        mine = (memory.reads, Event(), self.wall())
        memory.pending, found = mine, None
        try:
            found = self.db[EPOCHS].find_one({"_id": KEY}) or {}
        finally:
            if memory.pending is mine:
                memory.pending = None
            mine[1].send(found)    # None when it failed: a waiter reads itself
        if memory.last is None or memory.last[0] < mine[0]:
            memory.last = (mine[0], found, mine[2])
        return found

    def _serves(self, read):
        """Whether a read of the counter (number, _, begun at) answers this
        handling: begun after it began, or after its event occurred."""
        number, _, begun = read
        return number > self.began or serves_event(self.since, begun, self.wall())

    def changed(self, done=True):
        """After a change to a kept collection: every instance reads again.
        `done`: whether a conditional write changed anything (passed on)."""
        if not done:
            return False
        try:
            self.db[EPOCHS].update_one({"_id": KEY}, {"$inc": {"n": 1}, "$setOnInsert": {
                "born": uuid.uuid4().hex}}, upsert=True)
        except DuplicateKeyError:   # two first changes at once: the other made it
            self.db[EPOCHS].update_one({"_id": KEY}, {"$inc": {"n": 1}})
        self.memory.epoch, self.memory.docs = None, {}
        self.epoch = None
        return True
