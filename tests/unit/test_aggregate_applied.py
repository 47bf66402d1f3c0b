"""aggregate.applied: a change's write worked out here, as the database
would leave the document (issue 19: a command's answer without a read back).
The same is checked against the real database in
tests/integration/test_intake_writes.py."""
from datetime import datetime, timedelta, timezone

from shared.aggregate import applied, stored

AT = datetime(2026, 12, 3, 1, 2, 3, 456000, tzinfo=timezone.utc)


def test_each_operator_a_change_writes():
    doc = {"_id": "r1", "version": 3, "status": "received", "ack_due_at": AT,
           "history": [{"action": "file"}], "outbox_since": AT, "requests": [1, 2, 3]}
    update = {"$set": {"status": "accepted", "accepted_at": AT + timedelta(seconds=1)},
              "$unset": {"ack_due_at": ""},
              "$inc": {"version": 1},
              "$min": {"outbox_since": AT + timedelta(hours=1)},
              "$push": {"history": {"$each": [{"action": "accept"}]},
                        "requests": {"$each": [4, 5], "$slice": -3}}}
    assert applied(doc, update) == {
        "_id": "r1", "version": 4, "status": "accepted", "accepted_at": AT + timedelta(seconds=1),
        "history": [{"action": "file"}, {"action": "accept"}], "outbox_since": AT,
        "requests": [3, 4, 5]}
    assert doc["version"] == 3 and "ack_due_at" in doc   # the read document is left as read


def test_min_and_push_on_a_field_the_document_lacks():
    after = applied({"_id": "r1"}, {"$min": {"outbox_since": AT},
                                    "$push": {"outbox": {"$each": [{"id": "e1"}]}},
                                    "$inc": {"seq": 2}})
    assert after == {"_id": "r1", "outbox_since": AT, "outbox": [{"id": "e1"}], "seq": 2}


def test_what_it_does_not_know_is_read_back():
    doc = {"_id": "r1", "transfer": {"to": "u1"}, "hold": None}
    assert applied(doc, {"$set": {"transfer.to": "u2"}}) is None          # a path
    assert applied(doc, {"$addToSet": {"tags": "x"}}) is None             # another operator
    assert applied(doc, {"$min": {"hold": AT}}) is None                   # null against a time
    assert applied(doc, {"$push": {"tags": "x"}}) is None                 # a push without $each


def test_times_come_back_as_the_database_keeps_them():
    beijing = timezone(timedelta(hours=8))
    at = datetime(2026, 12, 3, 9, 0, 0, 123456, tzinfo=beijing)
    assert stored(at) == datetime(2026, 12, 3, 1, 0, 0, 123000, tzinfo=timezone.utc)
    assert stored(at).utcoffset() == timedelta(0)
    assert stored({"entries": ({"at": at},)}) == {"entries": [{"at": stored(at)}]}
    naive = datetime(2026, 12, 3, 1, 0, 0, 123456)        # pymongo writes a naive time as UTC
    assert stored(naive) == datetime(2026, 12, 3, 1, 0, 0, 123000, tzinfo=timezone.utc)
