"""Search terms a caller types, made into exact Mongo filters.

A term is never a pattern and never an operator: a company name prefix is a
range on a stored, case-folded key (`name_key`), so `.*` or `{"$gt":""}` is
looked for as those very characters, and the index on the key answers it
however many names there are.
"""
import unicodedata
from datetime import timedelta

from marshmallow import ValidationError, fields, validate, validates_schema

from shared.errors import Forbidden, Invalid
from shared.events import INCIDENT_TYPES
from shared.fields import ID_RE, Moment, line
from shared.pages import PageQuery

# A prefix matching more companies than this is too short to search with:
# the ids go into the list's query, and a silent cut would hide some.
MAX_COMPANIES = 500
# The greatest code point: as UTF-8 it sorts after every character, so
# [key, key + TOP) holds exactly the strings that start with key.
TOP = "\U0010ffff"


def name_key(name):
    """What a name is searched by: NFKC (full-width letters as ASCII) and
    case-folded, inner spaces kept, outer ones dropped."""
    return unicodedata.normalize("NFKC", name).casefold().strip()


def prefix_range(prefix):
    key = name_key(prefix)
    return {"$gte": key, "$lt": key + TOP}


def company_ids(ids):
    """The ids a prefix found (at most MAX_COMPANIES + 1 read), or a 422."""
    if len(ids) > MAX_COMPANIES:
        raise Invalid("the company name prefix matches too many companies",
                      {"company": ["too many companies; type more of the name"]})
    return {"$in": list(ids)}


def window(start, end):
    """A time range from the query's `from` (inclusive) and `to` (exclusive).
    "From" is "after one millisecond before" (times are stored to the
    millisecond): SecantusDB reads `$gte` as `$gt` on a compound index."""
    span = {}
    if start is not None:
        span["$gt"] = start - timedelta(milliseconds=1)
    if end is not None:
        span["$lt"] = end
    return span


class SearchQuery(PageQuery):
    """The filters police search reports and cases by (each list adds its
    own); every one is exact or a range, none a pattern."""
    incident_type = fields.String(validate=validate.OneOf(INCIDENT_TYPES))
    # `from` is a Python keyword: the wire name is kept with data_key.
    start = Moment(data_key="from")
    end = Moment(data_key="to")
    unit_id = fields.String(validate=validate.Regexp(ID_RE))   # that unit and those below it
    company = line(100, required=False)                        # a company name's start

    @validates_schema
    def ordered(self, data, **kwargs):
        if data.get("start") and data.get("end") and data["start"] >= data["end"]:
            raise ValidationError("`from` comes before `to`", "from")


POLICE_ONLY = ("incident_type", "start", "end", "unit_id", "company", "priority",
               "supervision")


def check_police_only(who, query):
    """A company lists its own reports and cases; searching is police work."""
    if not who.is_police and any(key in query for key in POLICE_ONLY):
        raise Forbidden("searching is for police")


def conditions(q, fields, time_field, companies_named):
    """The filters of a police search as query parts, each its own: `fields`
    maps a query key to the document field it matches exactly; `from`/`to`
    bound `time_field`; `company` names a prefix, whose company ids
    `companies_named(prefix)` answers (shared by the lists of reports and
    of cases)."""
    wanted = [{field: q[key]} for key, field in fields if key in q]
    if "start" in q or "end" in q:
        wanted.append({time_field: window(q.get("start"), q.get("end"))})
    if "company" in q:
        wanted.append({"company_id": company_ids(companies_named(q["company"]))})
    return wanted


def joined(wanted):
    return {"$and": wanted} if len(wanted) > 1 else wanted[0]
