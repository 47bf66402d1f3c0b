"""Cursor pages (shared/pages.py): a cursor continues its own list only,
and the keyset filter picks up exactly after the last row."""
from datetime import datetime, timezone

import pytest

from shared import pages
from shared.errors import BadRequest

SORT = [("created_at", -1), ("_id", 1)]
ROW = {"_id": "r-7", "created_at": datetime(2026, 11, 30, 6, 0)}


def test_a_cursor_gives_back_the_rows_sort_values():
    cursor = pages.encode("reports", SORT, ROW)
    assert pages.decode("reports", SORT, cursor) == [ROW["created_at"], "r-7"]


@pytest.mark.parametrize("cursor", [
    "x", "!!!!", pages.encode("cases", SORT, ROW),          # another list's
    pages.encode("reports", SORT[:1], ROW),                  # another sort's
    "WyJyZXBvcnRzIixbeyJ0IjoiMDAwMS0wMS0wMVQwMDowMDowMCswMDowMCJ9LCJyLTEiXV0",  # year 1
])
def test_a_foreign_or_broken_cursor_is_a_400(cursor):
    with pytest.raises(BadRequest):
        pages.decode("reports", SORT, cursor)


def test_the_keyset_filter_continues_after_the_last_row():
    at = datetime(2026, 11, 30, 6, 0, tzinfo=timezone.utc)
    assert pages.after_filter(SORT, [at, "r-7"]) == {"$or": [
        {"created_at": {"$lt": at}},
        {"created_at": at, "_id": {"$gt": "r-7"}}]}
