"""Marshmallow fields used at every boundary: exact money, shown times, ids."""
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

from bson import Decimal128
from marshmallow import RAISE, Schema, ValidationError, fields, validate

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONEY_RE = re.compile(r"^(0|[1-9]\d{0,14})(\.\d{1,2})?$")
ID_RE = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


class In(Schema):
    """What comes from outside (a body or a query): unknown fields are refused."""

    class Meta:
        unknown = RAISE


def text(max_len, required=True, min_len=1):
    return fields.String(required=required, validate=validate.Length(min_len, max_len))


class Money(fields.Field):
    """A non-negative CNY amount as a decimal string with at most 2 places.

    Floats are refused outright: 0.1 + 0.2 is not money.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not MONEY_RE.match(value):
            raise ValidationError(
                'money is a decimal string with at most 2 places, e.g. "21000.00"')
        return Decimal(value)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if isinstance(value, Decimal128):
            value = value.to_decimal()
        return f"{Decimal(value):.2f}"


class ShownTime(fields.AwareDateTime):
    """Stored in UTC; shown in Asia/Shanghai with its offset."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return value.astimezone(SHANGHAI).isoformat()


def to_decimal128(value):
    return Decimal128(Decimal(value).quantize(Decimal("0.01")))
