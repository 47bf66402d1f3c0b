"""Strict JSON bodies and exact money at the boundary."""
import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from marshmallow import Schema, ValidationError

from shared.errors import BadRequest
from shared.fields import Money, ShownTime
from shared.http import parse_json


@pytest.mark.parametrize("raw", [
    b'{"$where": "1"}', b'{"a": {"$gt": ""}}', b'{"a.b": 1}', b'{"a": [{"$ne": 1}]}',
    b'{"amount": NaN}', b'{"amount": Infinity}', b'{"amount": -Infinity}',
    b'[1, 2]', b'"text"', b'', b'{"a": 1', b'{"a": 1, "a": 2}',
    b'{"k": "\\u0000", "x\\u0000y": 1}', b'{"k": "a\\u0000b"}', b'{"k": ["\\u001b[31m"]}',
    ("[" * 40 + "]" * 40).encode().replace(b"[", b'{"a":', 1),
    json.dumps(json.loads('{"a":' * 50 + "1" + "}" * 50)).encode(),
])
def test_hostile_json_is_refused_with_a_clear_error(raw):
    with pytest.raises(BadRequest) as err:
        parse_json(raw)
    assert err.value.to_dict()["error"]["code"] == "bad_request"
    assert err.value.to_dict()["error"]["message"]


def test_plain_json_objects_pass():
    assert parse_json(b'{"a": {"b": [1, "x"]}, "c": null}') == {"a": {"b": [1, "x"]}, "c": None}
    assert parse_json('{"d": "行一\\n行二\\t¥"}'.encode()) == {"d": "行一\n行二\t¥"}


class M(Schema):
    amount = Money(required=True)
    at = ShownTime()


@pytest.mark.parametrize("good,expected", [
    ("0", "0"), ("21000.00", "21000.00"), ("0.5", "0.5"), ("999999999999999.99",
                                                          "999999999999999.99")])
def test_money_is_an_exact_decimal_string(good, expected):
    assert M().load({"amount": good})["amount"] == Decimal(expected)


@pytest.mark.parametrize("bad", [
    21000, 0.1, "1e400", "-1.00", "1.005", "NaN", "Infinity", "01.00", " 1", "1,000",
    "", None, True, "1" * 16])
def test_money_refuses_floats_negatives_and_more_than_two_places(bad):
    with pytest.raises(ValidationError):
        M().load({"amount": bad})


def test_money_and_times_are_shown_exactly_and_in_shanghai():
    out = M().dump({"amount": Decimal("21000"),
                    "at": datetime(2026, 11, 28, 16, 30, tzinfo=timezone.utc)})
    assert out == {"amount": "21000.00", "at": "2026-11-29T00:30:00+08:00"}
