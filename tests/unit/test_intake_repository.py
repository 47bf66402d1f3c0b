"""The update intake stores a report's clocks with (repository.clocks_update)."""
from datetime import datetime, timedelta, timezone

from services.intake.repository import NEXT_DUE, as_stored, clocks_update

T = datetime(2026, 12, 2, 8, 0, tzinfo=timezone.utc)
AT_STATION = {"company_id": "c1", "owner_unit_id": "st1", "owner_unit_path": ["st1", "b1"],
              "transfer": None}


def test_a_stopped_clock_is_removed_and_the_sweeps_clock_follows_the_earliest_left():
    update = clocks_update({"ack_next_at": None, "same_day_due_at": T,
                            "transfer_next_at": T + timedelta(hours=1)})
    assert update == {"$set": {"same_day_due_at": T, "transfer_next_at": T + timedelta(hours=1),
                               NEXT_DUE: T},
                      "$unset": {"ack_next_at": ""}}


def test_with_every_clock_stopped_the_report_leaves_the_sweeps_index():
    assert clocks_update({"ack_next_at": None, "same_day_due_at": None}) == {
        "$unset": {"ack_next_at": "", "same_day_due_at": "", NEXT_DUE: ""}}


def test_a_new_report_is_stored_with_its_first_clock_to_run_out():
    doc = as_stored({"_id": "r1", "ack_next_at": T, "same_day_due_at": T + timedelta(hours=8),
                     **AT_STATION})
    assert doc[NEXT_DUE] == T
    assert NEXT_DUE not in as_stored({"_id": "r2", **AT_STATION})


def test_a_new_report_is_stored_with_the_keys_of_who_may_list_it():
    assert as_stored({"_id": "r1", **AT_STATION})["reach"] == [
        "all", "company:c1", "owner:st1", "owner-in:st1", "owner-in:b1"]
