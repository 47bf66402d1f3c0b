"""Mongo as a nameko DependencyProvider.

The client is built in setup(), never at import (pymongo is not fork-safe),
writes are acknowledged by a majority and journaled, the service's indexes
(plus the outbox's and the inbox's) are ensured at start, and each worker
gets the service's repository, not a raw database.
"""
from decimal import Decimal

import pymongo
from bson.codec_options import CodecOptions, TypeCodec, TypeRegistry
from bson.decimal128 import Decimal128
from nameko.extensions import DependencyProvider
from pymongo.errors import OperationFailure

INDEX_NOT_FOUND = 27   # mongod's IndexNotFound
INDEX_CHANGED = (85, 86)   # IndexOptionsConflict, IndexKeySpecsConflict


class DecimalCodec(TypeCodec):
    """Money is Decimal in Python and Decimal128 in Mongo, never a float."""
    python_type = Decimal
    bson_type = Decimal128

    def transform_python(self, value):
        return Decimal128(value)

    def transform_bson(self, value):
        return value.to_decimal()


CODECS: CodecOptions = CodecOptions(tz_aware=True,
                                    type_registry=TypeRegistry([DecimalCodec()]))


def connect(uri, **kwargs):
    """One client with the project's write concern and a bounded wait."""
    return pymongo.MongoClient(
        uri, serverSelectionTimeoutMS=5000, connectTimeoutMS=5000,
        tz_aware=True, w="majority", journal=True, **kwargs)


def database_name(config, service):
    return f"{config.get('DB_PREFIX') or ''}fasttrack_{service}"


class Mongo(DependencyProvider):
    """Hands each worker `repository_class(db)`.

    `service` names the database (fasttrack_<service>); the repository class
    declares its INDEXES as {collection: [(keys, options), ...]}.
    """

    def __init__(self, service, repository_class):
        self.service = service
        self.repository_class = repository_class
        self.client = None
        self.db = None

    def setup(self):
        self.client = connect(self.container.config["MONGO_URI"])
        self.db = self.client.get_database(
            database_name(self.container.config, self.service), codec_options=CODECS)

    def start(self):
        ensure_indexes(self.db, self.repository_class.INDEXES)
        # Stored documents brought up to what this version reads (a repository's
        # `upgrade(db)`, when it has one): idempotent, so every instance may run
        # it; before the old indexes go, so it may read through them.
        upgrade = getattr(self.repository_class, "upgrade", None)
        if upgrade is not None:
            upgrade(self.db)
        drop_indexes(self.db, getattr(self.repository_class, "DROPPED_INDEXES", None))

    def stop(self):
        if self.client is not None:
            self.client.close()
            self.client = None

    kill = stop

    def get_dependency(self, worker_ctx):
        return self.repository_class(self.db)

    def ping(self):
        assert self.client is not None, "ping before setup"
        self.client.admin.command("ping")


def next_number(db, name, step=1):
    """The next value of a named counter (advanced by `step`: the last of
    a block of `step` numbers). The counters collection holds a few
    documents, so find_one_and_update (slow on large collections in
    SecantusDB) is cheap here."""
    doc = db.counters.find_one_and_update({"_id": name}, {"$inc": {"n": step}}, upsert=True,
                                          return_document=pymongo.ReturnDocument.AFTER)
    return doc["n"]


# (database, counter) -> [next, last] of the block this process reserved
_BLOCKS: dict[tuple[str, str], list[int]] = {}


def next_from_block(db, name, size):
    """The next number of a named counter, from a block of `size` this
    process reserved with one counter write: one call in `size` writes the
    counter (issue 19). The numbers are unique (the collection's own unique
    index must say so), increasing per process, not gapless: a block a
    process did not use up is skipped, and two instances hand out from
    their own blocks side by side. A counter named "<kind>-<period>" drops
    the block of the period before when the next one starts."""
    key = (db.name, name)
    block = _BLOCKS.get(key)
    if block is None or block[0] > block[1]:
        last = next_number(db, name, size)
        block = _BLOCKS[key] = [last - size + 1, last]
        kind = name.rsplit("-", 1)[0]
        for old in [k for k in _BLOCKS if k[0] == key[0] and k != key
                    and k[1].rsplit("-", 1)[0] == kind]:
            del _BLOCKS[old]   # yesterday's, last year's
    number = block[0]
    block[0] += 1   # no yield between reading and taking it (eventlet)
    return number


def ensure_indexes(db, indexes):
    """Make the declared indexes ({collection: [(keys, options), ...]}). One
    declared with other options than an earlier version made it under the
    same name (made partial, say) replaces that one."""
    for collection, specs in indexes.items():
        for keys, options in specs:
            try:
                db[collection].create_index(keys, **options)
            except OperationFailure as exc:
                if exc.code not in INDEX_CHANGED:
                    raise
                name = pymongo.IndexModel(keys, **options).document["name"]
                drop_indexes(db, {collection: [name]})
                db[collection].create_index(keys, **options)


def drop_indexes(db, dropped):
    """Drop the indexes a repository no longer declares ({collection: [index
    names]}): SecantusDB rewrites every index entry of a document on each
    write, so an index no query needs costs every write of its collection."""
    for collection, names in (dropped or {}).items():
        present = {index["name"] for index in db[collection].list_indexes()}
        for name in names:
            if name in present:
                try:
                    db[collection].drop_index(name)
                except OperationFailure as exc:
                    if exc.code != INDEX_NOT_FOUND:
                        raise   # (not found: another instance starting dropped it)


def backfill(collection, while_indexed, missing, reads, field, value_of):
    """An upgrade's one-off: while any index named in `while_indexed` still
    stands (a version that read through them is what wrote these documents),
    every document matching `missing` gets `field` = value_of(document), read
    with the fields `reads` — each conditional on the version it was read at,
    so a write since keeps its own (every write works the field out again).
    Run before drop_indexes(), which ends it for good."""
    present = {index["name"] for index in collection.list_indexes()}
    if not present & set(while_indexed):
        return
    for doc in collection.find(missing, {**dict.fromkeys(reads, 1), "version": 1}):
        collection.update_one({"_id": doc["_id"], "version": doc.get("version")},
                              {"$set": {field: value_of(doc)}})
