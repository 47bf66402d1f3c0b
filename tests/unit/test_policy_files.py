"""Policy files refuse what the services cannot run: at load, with a message
naming the file and the key, never as a KeyError in a timer later."""
import logging
import os
from types import SimpleNamespace

import pytest
import yaml

from services.case_supervision.policy import CasePolicy, read_policy
from services.intake.policy_schema import IntakePolicy
from services.notify.policy_schema import NotifyPolicy
from shared.policy import ROOT, Policy, PolicyError, load_policy, read_file

SCHEMAS = {"intake": IntakePolicy(), "notify": NotifyPolicy()}


def shipped(name):
    with open(os.path.join(ROOT, "policy", f"{name}.yml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


def write(path, policy):
    path.write_text(yaml.safe_dump(policy, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return str(path)


def edited(tmp_path, name, change):
    """The shipped file, changed by `change(policy)`, written under tmp_path."""
    policy = shipped(name)
    if name == "cases":
        policy["calendars"]["office_hours"]["holidays_file"] = os.path.join(
            ROOT, "policy", "holidays.yml")
    change(policy)
    return write(tmp_path / f"{name}.yml", policy)


def refusal(name, path):
    with pytest.raises(PolicyError) as refused:
        read_policy(path) if name == "cases" else read_file(path, SCHEMAS[name])
    assert str(refused.value).startswith(f"{path}: ")
    return str(refused.value)[len(path) + 2:]


def test_the_shipped_policy_files_load_and_name_themselves_in_a_refusal():
    cases = read_policy(os.path.join(ROOT, "policy", "cases.yml"))
    assert cases["calendars"]["office_hours"]["days"][2026]["holidays"]
    for name, schema in SCHEMAS.items():
        assert load_policy({}, name, schema) == shipped(name)
    assert str(PolicyError(os.path.join(ROOT, "policy", "cases.yml"), [
        ("escalation.ladder[1]", "'x' is not one of y")])) == \
        "policy/cases.yml: escalation.ladder[1]: 'x' is not one of y"


def setitem(*keys, value):
    def change(policy):
        for key in keys[:-1]:
            policy = policy[key]
        policy[keys[-1]] = value
    return change


def delitem(*keys):
    def change(policy):
        for key in keys[:-1]:
            policy = policy[key]
        del policy[keys[-1]]
    return change


@pytest.mark.parametrize("change,problem", [
    # a misspelt rung
    (setitem("escalation", "ladder", 1, value="unit_supervisr"),
     "escalation.ladder[1]: 'unit_supervisr' is not one of lead_officer, unit_supervisor, "
     "supervisor"),
    # a calendar a unit names that the file does not define
    (setitem("unit_calendars", value={"st1": "ofice_hours"}),
     "unit_calendars.st1: 'ofice_hours' is not one of office_hours (the calendars under "
     "calendars)"),
    # unknown keys, at the top and inside
    (setitem("escalaton", value={}), "escalaton: unknown key"),
    (setitem("rules", 5, "when", value={"min_victim": 10}),
     "rules[5].when.min_victim: unknown key"),
    (setitem("deadlines", "high", "first_actoin", value=60),
     "deadlines.high.first_actoin: 'first_actoin' is not one of first_action, first_progress"),
    (setitem("calendars", "office_hours", "timezone", value="Asia/Shanghi"),
     "calendars.office_hours.timezone: 'Asia/Shanghi' is not a time zone"),
    (setitem("rules", 6, "when", "incident_type", 1, value="cybercrim"),
     "rules[6].when.incident_type[1]: 'cybercrim' is not one of fraud, "),
    # wrong types
    (setitem("escalation", "repeat_seconds", value="4h"),
     "escalation.repeat_seconds: must be a number of seconds above 0"),
    (setitem("escalation", "warn_at", value=80), "escalation.warn_at: must be a number above 0 "
                                                 "and below 1"),
    (setitem("rules", 5, "when", "min_victims", value="10"),
     "rules[5].when.min_victims: Not a valid integer."),
    (setitem("rules", 0, "when", "min_loss", value=1000000.0),
     "rules[0].when.min_loss: money is a decimal string"),
    (setitem("rules", 2, "when", "funds_in_transit", value=1),
     "rules[2].when.funds_in_transit: must be true or false"),
    (setitem("version", value="2"), "version: Not a valid integer."),
    (setitem("calendars", "office_hours", "hours", 1, 0, value=810),
     'calendars.office_hours.hours[1][0]: must be a quoted time, e.g. "13:30": unquoted, YAML '
     "reads it as the number 810"),
    (setitem("calendars", "office_hours", "hours", value=[["09:00", "12:00"], ["11:30", "13:00"]]),
     "calendars.office_hours.hours[1]: 11:30-13:00 must end after it starts"),
    # missing keys
    (delitem("deadlines"), "deadlines: Missing data for required field."),
    (delitem("progress_interval", "high"),
     "progress_interval.high: missing: every priority under deadlines needs one"),
    (delitem("escalation", "ladder"), "escalation.ladder: Missing data for required field."),
    # rules that could not classify every case
    (setitem("rules", 3, "priority", value="hgh"),
     "rules[3].priority: 'hgh' is not one of urgent, high, normal (the priorities under "
     "deadlines)"),
    (setitem("rules", 3, "level", value="province"),
     "rules[3].level: 'province' is not one of unit, district, city"),
    (delitem("rules", -1), "rules[6].when: the last rule must match every case"),
    (setitem("rules", -1, value=["normal", "unit"]), "rules[7]: Invalid input type."),
])
def test_a_case_policy_the_service_cannot_run_is_refused_naming_the_key(tmp_path, change,
                                                                        problem):
    assert refusal("cases", edited(tmp_path, "cases", change)).startswith(problem)


@pytest.mark.parametrize("text,problem", [
    ("2026:\n  holidays: [[2026-10-07, 2026-10-01]]\n",
     "2026.holidays[0]: the range ends (2026-10-01) before it starts (2026-10-07)"),
    ("2026:\n  workday: [2026-10-10]\n", "2026.workday: unknown key"),
    ("2026:\n  workdays: [10-10]\n", "2026.workdays[0]: must be a date"),
    ("twenty26:\n  workdays: []\n", "twenty26: 'twenty26' is not a year"),
    ("2026:\n  holidays: [2026-02-30]\n", "not readable YAML: day is out of range for month"),
])
def test_a_holidays_file_is_checked_with_the_case_policy_that_names_it(tmp_path, text, problem):
    days = tmp_path / "days.yml"
    days.write_text(text, encoding="utf-8")
    path = edited(tmp_path, "cases", setitem("calendars", "office_hours", "holidays_file",
                                             value="days.yml"))   # beside the policy file
    with pytest.raises(PolicyError) as refused:
        read_policy(path)
    assert str(refused.value).startswith(f"{days}: {problem}")
    missing = edited(tmp_path, "cases", setitem("calendars", "office_hours", "holidays_file",
                                                value="holidays-2027.yml"))
    assert refusal("cases", missing) == \
        f"calendars.office_hours.holidays_file: no file at {tmp_path / 'holidays-2027.yml'}"


@pytest.mark.parametrize("change,problem", [
    (setitem("routing", "fruad", value="economic_crime"),
     "routing.fruad: 'fruad' is not one of fraud, telecom_fraud, "),
    (setitem("materials", "thft", value=[]), "materials.thft: 'thft' is not one of fraud, "),
    (setitem("materials", "theft", 0, "zh-TW", value="被盜物品清單"),
     "materials.theft[0].zh-TW: unknown key"),
    (delitem("common_materials", 0, "zh-CN"),
     "common_materials[0].zh-CN: Missing data for required field."),
    (setitem("ack_secs", value=60), "ack_secs: unknown key"),
    (setitem("ack_seconds", value="30 minutes"), "ack_seconds: must be a number of seconds"),
    (setitem("ack_seconds", value=0), "ack_seconds: must be a number of seconds above 0"),
    (setitem("same_day_end", value=86399),   # what YAML makes of an unquoted 23:59:59
     'same_day_end: must be a quoted time, e.g. "13:30"'),
    (setitem("same_day_end", value="24:00"), 'same_day_end: must be a time "HH:MM" or'),
    (setitem("oldest_incident_years", value=0),
     "oldest_incident_years: Must be greater than or equal to 1"),
    (setitem("oldest_incident_years", value=20.5), "oldest_incident_years: Not a valid integer."),
    (delitem("oldest_incident_years"), "oldest_incident_years: Missing data for required field."),
    (delitem("materials"), "materials: Missing data for required field."),
])
def test_an_intake_policy_the_service_cannot_run_is_refused_naming_the_key(tmp_path, change,
                                                                          problem):
    assert refusal("intake", edited(tmp_path, "intake", change)).startswith(problem)


@pytest.mark.parametrize("change,problem", [
    (setitem("follow_up_after", value=3600), "follow_up_after: unknown key"),
    (setitem("order_max_hold_seconds", value="1h"), "order_max_hold_seconds: must be a number"),
    (setitem("secret_overlap_seconds", value=True), "secret_overlap_seconds: must be a number"),
    (delitem("follow_up_after_seconds"),
     "follow_up_after_seconds: Missing data for required field."),
])
def test_a_notify_policy_the_service_cannot_run_is_refused_naming_the_key(tmp_path, change,
                                                                         problem):
    assert refusal("notify", edited(tmp_path, "notify", change)).startswith(problem)


def test_a_file_that_is_not_a_policy_is_refused_whole(tmp_path):
    for text, problem in [("", "the file must hold a mapping of keys"),
                          ("version: [1\n", "not readable YAML: while parsing")]:
        (tmp_path / "notify.yml").write_text(text, encoding="utf-8")
        assert refusal("notify", str(tmp_path / "notify.yml")).startswith(problem)
    assert refusal("notify", str(tmp_path / "none.yml")) == "No such file or directory"


def bound(provider, **config):
    """The provider as a container with this config would set it up."""
    provider.container = SimpleNamespace(config=config)
    return provider


def test_a_bad_file_stops_a_service_at_start_with_the_message(tmp_path):
    bad = edited(tmp_path, "intake", setitem("ack_secs", value=60))
    with pytest.raises(PolicyError, match="intake.yml: ack_secs: unknown key"):
        bound(Policy("intake", IntakePolicy()), INTAKE_POLICY=bad).setup()
    bad = edited(tmp_path, "cases", setitem("escalation", "ladder", 0, value="lead"))
    with pytest.raises(PolicyError, match=r"cases.yml: escalation.ladder\[0\]: 'lead'"):
        bound(CasePolicy(), CASES_POLICY=bad).setup()


def test_a_case_policy_re_read_while_running_keeps_the_last_good_one(tmp_path, caplog):
    path = edited(tmp_path, "cases", setitem("version", value=2))
    provider = bound(CasePolicy(), CASES_POLICY=path)
    provider.setup()
    good = provider.current()
    edited(tmp_path, "cases", setitem("escalation", "ladder", 1, value="unit_supervisr"))
    os.utime(path, ns=(0, provider.mtime + 1))   # a change within the clock's resolution
    with caplog.at_level(logging.ERROR):
        assert provider.current() is good
        assert provider.current() is good   # told once per change, not by every worker
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}: escalation.ladder[1]: 'unit_supervisr' is not one of lead_officer, "
        "unit_supervisor, supervisor; the case policy stays at version 2"]
    edited(tmp_path, "cases", setitem("version", value=3))
    os.utime(path, ns=(0, provider.mtime + 1))
    assert provider.current()["version"] == 3
