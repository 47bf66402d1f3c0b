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
