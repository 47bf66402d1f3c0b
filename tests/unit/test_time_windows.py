"""Reading a newest-first list in time windows (shared/time_windows.py): a
filter made flat branch by branch, bounds that meet, branches nothing can
match dropped, and a search term's prefix range (shared/search.py)."""
from datetime import datetime, timedelta, timezone

from shared import search, time_windows as tw

AT = datetime(2026, 11, 30, 6, 0, tzinfo=timezone.utc)


def test_the_reach_or_and_the_filters_become_flat_branches():
    reach = {"$or": [{"owner_unit_path": "b1"}, {"transfer.to_unit_path": "b1"}]}
    query = {"$and": [reach, {"status": "received"}, {"company_id": {"$in": ["c1"]}}]}
    assert tw.flat_branches(query) == [
        {"owner_unit_path": "b1", "status": "received", "company_id": {"$in": ["c1"]}},
        {"transfer.to_unit_path": "b1", "status": "received", "company_id": {"$in": ["c1"]}}]


def test_a_unit_searched_within_reach_asks_the_path_for_both():
    query = {"$and": [{"owner_unit_path": "b1"}, {"owner_unit_path": "st1"}]}
    assert tw.flat_branches(query) == [{"owner_unit_path": {"$all": ["b1", "st1"]}}]


def test_ranges_meet_and_a_branch_outside_them_is_dropped():
    span = search.window(AT, AT + timedelta(hours=1))
    assert span == {"$gt": AT - timedelta(milliseconds=1), "$lt": AT + timedelta(hours=1)}
    narrower = tw.conj({"received_at": span}, {"received_at": {"$lt": AT + timedelta(minutes=5)}})
    assert narrower["received_at"]["$lt"] == AT + timedelta(minutes=5)
    assert tw.flat_branches({"$and": [{"_id": "r1"}, {"_id": "r1"}]}) == [{"_id": "r1"}]
    assert tw._each([{"received_at": span}], {"received_at": AT - timedelta(days=1)}) == []
    assert tw._each([{"_id": "r-5"}], {"_id": {"$lt": "r-3"}}) == []
    assert tw._each([{"_id": "r-1"}], {"_id": {"$lt": "r-3"}}) == [{"_id": "r-1"}]


def test_an_operator_at_the_top_is_not_made_flat():
    assert tw.flat_branches({"$where": "1"}) is None
    assert tw.flat_branches({"$nor": [{"a": 1}]}) is None


def test_a_prefix_is_a_range_on_the_case_folded_name_never_a_pattern():
    assert search.name_key("  ＡＣＭＥ Trading ") == "acme trading"
    assert search.prefix_range(".*") == {"$gte": ".*", "$lt": ".*\U0010ffff"}
    assert search.prefix_range('{"$gt":""}')["$gte"] == '{"$gt":""}'


class Rows:
    """A collection that answers find() from a list, recording each filter."""

    def __init__(self, rows):
        self.rows, self.asked = rows, []

    def find(self, query, projection=None, sort=None, limit=0):
        self.asked.append(query)
        found = [r for r in self.rows if all(r.get(k) == v for k, v in query.items()
                                             if not isinstance(v, dict))]
        return sorted(found, key=lambda r: (r["at"], r["_id"]), reverse=True)[:limit]


def test_a_branch_that_names_its_row_is_read_once_without_windows():
    rows = Rows([{"_id": "r1", "at": AT, "unit": "b1"}])
    sort = [("at", -1), ("_id", -1)]
    assert tw.read(rows, [{"unit": "b1", "_id": "r1"}], sort, 51, None, None) == rows.rows
    assert rows.asked == [{"unit": "b1", "_id": "r1"}]
    assert tw.read(rows, [{"unit": "b1", "_id": "r1"}], sort, 51, [AT, "r1"], None) == []
