"""The relay's pulls of published events, written for many documents at
once (shared/outbox.py, issue 19), on the real database: nothing leaves an
outbox unconfirmed, nothing is sent twice by the process that sent it, and
an event pushed meanwhile stays with its marker."""
import uuid
from datetime import datetime, timezone

import pytest
from pymongo import monitoring

from shared import outbox
from shared.mongo import connect

NOW = datetime.now(timezone.utc)


class Updates(monitoring.CommandListener):
    def __init__(self):
        self.seen = []

    def started(self, event):
        if event.command_name == "update":
            self.seen.append(event.command["update"])

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


class Provider(outbox.OutboxRelay):
    """The relay's provider with its database, publishing to a list (the
    broker's part is the backbone tests')."""

    def __init__(self, db, fail_on=()):
        self.db, self.published, self.pulled = db, {}, {}
        self.sent, self.fail_on = [], set(fail_on)

    def publish(self, event):
        if event["type"] in self.fail_on:
            raise ConnectionError("broker away")
        self.sent.append(event["event_id"])


@pytest.fixture
def db(service_config):
    listener = Updates()
    client = connect(service_config(0)["MONGO_URI"], event_listeners=[listener])
    database = client[f"pulls_{uuid.uuid4().hex[:8]}"]
    database.updates = listener
    yield database
    client.drop_database(database.name)
    client.close()


def stored(db, events):
    doc_id = str(uuid.uuid4())
    envs = outbox.record("intake", doc_id, 0, [(t, {}) for t in events], NOW)
    db.reports.insert_one({"_id": doc_id, **outbox.on_insert(envs, NOW)})
    return doc_id, envs


def test_the_pulls_of_many_flushes_are_one_command(db):
    provider = Provider(db)
    relay = outbox.Relay(provider)
    docs = [stored(db, ["report_received"]) for _ in range(5)]
    for doc_id, envs in docs:
        assert relay.flush("reports", doc_id, envs) == 1
    assert db.reports.count_documents({"outbox": []}) == 0   # published, not pulled yet
    before = len(db.updates.seen)
    provider.write_pulls()
    assert db.updates.seen[before:] == ["reports"]
    assert db.reports.count_documents({"outbox": [], "outbox_since": None}) == 5
    provider.write_pulls()   # nothing left: no write
    assert len(db.updates.seen) == before + 1


def test_an_event_published_and_not_yet_pulled_is_not_sent_again(db):
    provider = Provider(db)
    relay = outbox.Relay(provider)
    doc_id, envs = stored(db, ["report_received"])
    relay.flush("reports", doc_id, envs)
    # The report is accepted before the pull is written: its flush reads
    # both events and sends only the new one; so does the sweep.
    accepted = outbox.record("intake", doc_id, 1, [("report_accepted", {})], NOW)
    db.reports.update_one({"_id": doc_id}, outbox.push(1, accepted, NOW))
    assert relay.flush("reports", doc_id) == 1
    assert provider.sent == [envs[0]["event_id"], accepted[0]["event_id"]]
    provider.write_pulls()
    assert db.reports.find_one({"_id": doc_id})["outbox"] == []


def test_an_event_pushed_after_the_publish_stays_with_its_marker(db):
    provider = Provider(db)
    relay = outbox.Relay(provider)
    doc_id, envs = stored(db, ["report_received"])
    relay.flush("reports", doc_id, envs)
    later = outbox.record("intake", doc_id, 1, [("report_accepted", {})], NOW)
    db.reports.update_one({"_id": doc_id}, outbox.push(1, later, NOW))
    provider.write_pulls()   # before the accept's own flush
    doc = db.reports.find_one({"_id": doc_id})
    assert [e["event_id"] for e in doc["outbox"]] == [later[0]["event_id"]]
    assert doc["outbox_since"] is not None   # the sweep still sees it


def test_an_unconfirmed_event_stays_in_the_outbox(db):
    provider = Provider(db, fail_on={"report_accepted"})
    relay = outbox.Relay(provider)
    doc_id, envs = stored(db, ["report_received", "report_accepted"])
    assert relay.flush("reports", doc_id, envs) == 1
    provider.write_pulls()
    doc = db.reports.find_one({"_id": doc_id})
    assert [e["type"] for e in doc["outbox"]] == ["report_accepted"]
    assert doc["outbox_since"] is not None


def test_pulls_a_database_outage_refused_are_written_on_the_next_try(db):
    provider = Provider(db)
    relay = outbox.Relay(provider)
    doc_id, envs = stored(db, ["report_received"])
    relay.flush("reports", doc_id, envs)
    real, provider.db = provider.db, Unanswering()
    provider.write_pulls()   # logged, kept
    assert db.reports.find_one({"_id": doc_id})["outbox"] != []
    provider.db = real
    provider.write_pulls()
    assert db.reports.find_one({"_id": doc_id})["outbox"] == []
    assert provider.sent == [envs[0]["event_id"]]


class Unanswering:
    """A database that does not answer."""

    def __getitem__(self, name):
        return self

    def __getattr__(self, name):
        return self

    def bulk_write(self, *args, **kwargs):
        raise ConnectionError("database away")


def test_a_flush_that_read_the_outbox_before_its_pull_was_written_sends_nothing_again(db):
    """The accept's flush reads the report's outbox while the pull of its
    receipt is being written: what it read still holds the receipt, sent
    already, and it is not sent again."""
    provider = Provider(db)
    relay = outbox.Relay(provider)
    doc_id, envs = stored(db, ["report_received"])
    relay.flush("reports", doc_id, envs)
    read_before = db.reports.find_one({"_id": doc_id}, {"outbox": 1})
    provider.write_pulls()                      # the pull lands meanwhile
    assert relay._send("reports", read_before) == 0
    assert provider.sent == [envs[0]["event_id"]]
