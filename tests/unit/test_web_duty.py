"""The duty roster's and the alert settings' forms (services/web/roster_form.py):
notify's JSON to rows and back, blank rows not sent, and notify's nested
field errors put back by the row they came from; Page.submit, the one place
a form's action is sent and its refusal handed back; and the web app's
words: no text given two translations."""
import ast
import os

import pytest
from werkzeug.datastructures import MultiDict

from services.web import roster_form as rf
from services.web.api import ApiError, NotFound, SignedOut, Unavailable
from services.web.pages import Page

WEB = os.path.join(os.path.dirname(__file__), "..", "..", "services", "web")
ROSTER = {"weekly": {"mon": [{"start": "08:00", "end": "20:00", "officers": ["o1"]}]},
          "overrides": [{"date": "2026-10-01", "reason": "国庆值班",
                         "shifts": [{"start": "00:00", "end": "00:00", "officers": ["o2"]}]}]}


def form_of(model):
    """What the browser sends back for a model the page showed."""
    data = MultiDict()
    for day in rf.WEEKDAYS:
        data["rows-" + day] = str(len(model["weekly"][day]))
        for i, s in enumerate(model["weekly"][day]):
            _shift(data, f"{day}-{i}", s)
    data["rows-ov"] = str(len(model["overrides"]))
    for j, o in enumerate(model["overrides"]):
        data[f"ov-{j}-date"], data[f"ov-{j}-reason"] = o["date"], o["reason"]
        data[f"rows-ov-{j}"] = str(len(o["shifts"]))
        for i, s in enumerate(o["shifts"]):
            _shift(data, f"ov-{j}-{i}", s)
    return data


def _shift(data, prefix, s):
    data[f"{prefix}-start"], data[f"{prefix}-end"] = s["start"], s["end"]
    for officer in s["officers"]:
        data.add(f"{prefix}-officers", officer)


def test_a_roster_shown_and_sent_back_unchanged_is_the_same_roster():
    model = rf.model_of(ROSTER)
    # One empty row under each day and date, and an empty date to fill.
    assert len(model["weekly"]["mon"]) == 2 and len(model["weekly"]["tue"]) == 1
    assert len(model["overrides"]) == 2
    body, _ = rf.body_of(rf.model_from(form_of(model)))
    assert body == ROSTER


def test_a_removed_shift_and_a_removed_date_are_not_sent():
    data = form_of(rf.model_of(ROSTER))
    data["mon-0-drop"] = "on"
    data["ov-0-drop"] = "on"
    assert rf.body_of(rf.model_from(data))[0] == {"weekly": {}, "overrides": []}


def test_a_half_filled_row_is_sent_as_typed_for_notify_to_name_what_is_missing():
    data = form_of(rf.model_of(None))
    data["tue-0-start"] = "20:00"
    data.add("tue-0-officers", "o1")
    body, _ = rf.body_of(rf.model_from(data))
    assert body["weekly"] == {"tue": [{"start": "20:00", "officers": ["o1"]}]}


def test_notify_errors_find_the_row_they_came_from():
    model = rf.model_of(None)
    rf.add_row(model, "wed")            # wed-0 and wed-1, wed-0 left blank
    model["weekly"]["wed"][1].update(start="09:00", officers=["o1"])
    model["overrides"][0].update(reason="春节", shifts=[rf.blank_shift(), {
        "start": "00:00", "end": "00:00", "officers": [], "drop": False}])
    body, where = rf.body_of(model)
    assert len(body["weekly"]["wed"]) == 1       # the blank row is not sent
    fields = {"weekly": {"wed": {"0": {"end": ["Missing data for required field."]}}},
              "overrides": {"0": {"date": ["Missing data for required field."],
                                  "shifts": {"0": {"officers": ["Length must be between 1 and 50."]}}}},
              "officers": ["not of this unit: x9"]}
    assert rf.roster_errors(fields, where) == {
        "wed-1-end": "Missing data for required field.",
        "ov-0-date": "Missing data for required field.",
        "ov-0-1-officers": "Length must be between 1 and 50.",
        "officers": "not of this unit: x9"}
    assert rf.roster_errors({"overrides": ["one override per date"]}, where) == {
        "overrides": "one override per date"}


def test_add_row_adds_one_empty_row_where_asked():
    model = rf.model_of(ROSTER)
    rf.add_row(model, "mon")
    rf.add_row(model, "ov")
    rf.add_row(model, "ov-0")
    rf.add_row(model, "ov-99")          # no such date: nothing
    assert len(model["weekly"]["mon"]) == 3
    assert len(model["overrides"]) == 3
    assert len(model["overrides"][0]["shifts"]) == 3


def test_alert_channels_default_unless_chosen_and_a_choice_keeps_the_inbox():
    values = rf.channels_model({"email": "a@b.cn", "phone": None,
                                "channels": {"critical": ["inbox", "sms"]}})
    assert values["mode-info"] == "default" and values["mode-critical"] == "chosen"
    assert values["ch-critical"] == ["sms"] and values["phone"] == ""
    form = MultiDict([("email", " a@b.cn "), ("phone", ""), ("mode-info", "default"),
                      ("mode-warning", "chosen"), ("mode-critical", "default"),
                      ("ch-critical", "sms"), ("ch-critical", "every")])
    body = rf.settings_body(rf.channels_from(form))
    # Warning: "the inbox only" is a choice; critical: ticked means chosen.
    assert body == {"email": "a@b.cn", "phone": None,
                    "channels": {"warning": ["inbox"], "critical": ["inbox", "sms", "every"]}}
    assert rf.settings_errors({"channels": {"warning": {"1": ["Must be one of: x."]}},
                               "email": ["Not a valid email address."]}) == {
        "ch-warning": "Must be one of: x.", "email": "Not a valid email address."}


def test_no_text_has_two_translations():
    with open(os.path.join(WEB, "texts.py")) as f:
        tree = ast.parse(f.read())
    (table,) = [n.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
                and getattr(n.targets[0], "id", "") == "ZH"]
    seen: dict = {}
    for key, value in zip(table.keys, table.values):
        assert seen.setdefault(key.value, value.value) == value.value, key.value


# -- Page.submit: one place for "send the form, or hand back the refusal" ----------
class FakeApi:
    def __init__(self, outcome):
        self.outcome, self.calls = outcome, []

    def _answer(self, *call):
        self.calls.append(call)
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome

    def post(self, path, body=None, key=None):
        return self._answer("POST", path, body, key)

    def call(self, method, path, json=None):
        return self._answer(method, path, json, None)


def page_with(outcome, form=None):
    class Service:
        config: dict = {}
        sessions = None
    request = type("Request", (), {"cookies": {}, "form": MultiDict(form or {})})()
    p = Page(Service(), request, None)
    api = FakeApi(outcome)
    p.api = lambda service: api
    return p, api


def test_submit_sends_the_forms_key_and_keeps_the_answer():
    p, api = page_with({"report_id": "r1"}, {"idempotency_key": "k-1"})
    assert p.submit("intake", "/reports/r1/accept") is None
    assert p.answered == {"report_id": "r1"}
    assert api.calls == [("POST", "/reports/r1/accept", None, "k-1")]
    p, api = page_with({"ok": True})
    assert p.submit("notify", "/alerts/settings", {"email": None}, method="PUT") is None
    assert api.calls == [("PUT", "/alerts/settings", {"email": None}, None)]


def test_submit_hands_back_a_refusal_and_raises_anything_else():
    refusal = ApiError(422, {"detail": "the request does not validate",
                             "fields": {"reason": ["Missing data for required field."]}})
    p, _ = page_with(refusal)
    assert p.submit("cases", "/cases/c1/pause", {}) is refusal
    p, _ = page_with(ApiError(400, {}))
    with pytest.raises(ApiError):        # 400 is a refusal only where a form says so
        p.submit("cases", "/cases/c1/pause", {})
    p, _ = page_with(ApiError(400, {}))
    assert p.submit("intake", "/company/api-keys", {}, refusals=(400, 422)).status == 400
    for other in (NotFound(404, {}), SignedOut(401, {}), Unavailable(503, {})):
        p, _ = page_with(other)
        with pytest.raises(type(other)):
            p.submit("cases", "/cases/c1/pause", {}, refusals=(401, 404, 409, 422, 503))
