"""Intake's key store on the real database: the newest key signs, a retired
key stays published until the last token it can have signed has expired,
and the published set never carries a private key."""
from datetime import timedelta

from services.intake.signing_keys import (COLLECTION, LEEWAY, add_key, current_key,
                                          published_docs)
from shared import clock
from shared.mongo import connect, database_name


def test_a_retired_key_is_published_until_its_tokens_have_expired(stack, db_prefix):
    client = connect(stack.env["MONGO_URI"])
    db = client[database_name({"DB_PREFIX": db_prefix}, "intake")]
    try:
        now = clock.now()
        first = add_key(db, now - timedelta(days=400))
        second = add_key(db, now - timedelta(days=10))     # first retired 10 days ago
        third = add_key(db, now)                           # second retired now
        assert current_key(db).kid == third.kid
        retired = {d["_id"]: d["retired_at"] for d in db[COLLECTION].find()}
        assert retired[first.kid] == now - timedelta(days=10) and retired[third.kid] is None
        published = published_docs(db, now, ttl_days=365)
        assert [d["_id"] for d in published] == [third.kid, second.kid, first.kid]
        assert all("private_key" not in d and "d" not in d["public_jwk"] for d in published)
        # 365 days (and the leeway) after its retirement, the first key's
        # last token has expired: it is no longer published.
        later = now - timedelta(days=10) + timedelta(days=365) + LEEWAY + timedelta(seconds=1)
        assert [d["_id"] for d in published_docs(db, later, ttl_days=365)] == [
            third.kid, second.kid]
        # A shorter token lifetime lets it go sooner.
        assert [d["_id"] for d in published_docs(db, now, ttl_days=1)] == [
            third.kid, second.kid]
    finally:
        client.drop_database(database_name({"DB_PREFIX": db_prefix}, "intake"))
        client.close()
