"""Marshmallow fields used at every boundary: exact money, shown times, ids, text.

Patterns end in `\\Z`, not `$`: `$` also matches before a final newline, so
"1.00\\n" would pass as money and "unit-1\\n" as an id.
"""
import functools
import re
from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from shared.clock import EARLIEST

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONEY_RE = re.compile(r"\A(0|[1-9]\d{0,14})(\.\d{1,2})?\Z")
ID_RE = r"\A[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z"
# An account's username: an officer id, a credit code, an e-mail address.
USERNAME_RE = r"\A[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}\Z"
SURROGATE = re.compile(r"[\ud800-\udfff]")
# What breaks a line where a one-line text is shown or sent: a mail header,
# an SMS, a log line, a file name, a page title.
LINE_BREAK = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# The widest window any instant sent to us may lie in (from clock.EARLIEST). Outside it, moving a
# time to UTC or to Beijing time (or a window's arithmetic) can overflow
# Python's year 1..9999, and no date of a police case lies there.
LATEST = datetime(2200, 1, 1, tzinfo=timezone.utc)


@functools.cache
def schema(cls, **options):
    """The one instance of a schema class (with these options) every call
    shares. Schema.__init__ deep-copies each declared field and a Nested
    field makes its schema anew in each copy: made per request or event,
    that was 7 % of a service's CPU (issue 19). An instance keeps no state
    between load() and dump() calls (marshmallow 4 has no `context`), so
    one serves them all."""
    return cls(**options)


class In(Schema):
    """What comes from outside (a body or a query): unknown fields are refused."""

    class Meta:
        unknown = RAISE


def valid_unicode(value):
    """A lone surrogate (JSON's "\\ud800") is no character: it cannot be stored."""
    if isinstance(value, str) and SURROGATE.search(value):
        raise ValidationError("text must be valid Unicode (no lone surrogates)")


def one_line(value):
    if isinstance(value, str) and LINE_BREAK.search(value):
        raise ValidationError("one line only: no line breaks")


def header_value(value):
    """Text bound for a one-line place (a mail header, a file name): line
    breaks become spaces. Input refuses them in one-line fields; this keeps
    older records, and text from elsewhere, from adding a header of its own."""
    return LINE_BREAK.sub(" ", str(value))


def text(max_len, required=True, min_len=1):
    """Text that may run over several lines (a description, a note, a reason)."""
    return fields.String(required=required, validate=[validate.Length(min_len, max_len),
                                                      valid_unicode])


def line(max_len, required=True, min_len=1):
    """Text shown on one line (a name, a summary, a location, a label)."""
    return fields.String(required=required, validate=[validate.Length(min_len, max_len),
                                                      valid_unicode, one_line])


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
        if hasattr(value, "to_decimal"):  # a Decimal128 read without the codec
            value = value.to_decimal()
        return f"{Decimal(value):.2f}"


class Moment(fields.AwareDateTime):
    """An instant a client sends, with its offset; kept in UTC, and refused
    outside [EARLIEST, LATEST) so no later arithmetic on it can overflow."""

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            utc = moment.astimezone(timezone.utc)
        except OverflowError:
            utc = None
        if utc is None or not EARLIEST <= utc < LATEST:
            raise ValidationError(f"a time between {EARLIEST:%Y-%m-%d} and "
                                  f"{LATEST:%Y-%m-%d} (UTC) is expected")
        return utc


def shown(value):
    """Beijing time with its offset; a stored time that cannot be moved there
    (one near year 9999 written before the input windows) is shown in UTC
    rather than breaking every page that lists it."""
    try:
        return value.astimezone(SHANGHAI).isoformat()
    except (OverflowError, ValueError):
        return value.isoformat()


class ShownTime(fields.AwareDateTime):
    """Stored in UTC; shown in Asia/Shanghai with its offset."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return shown(value)
