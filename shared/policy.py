"""Policy files (data, not code) under policy/, overridable by path in config.

Each service checks its files with its own schema when it reads them (the
names a file may use — rungs, incident types, languages — are the
service's). A file the code could not run is refused whole at load, with one
`PolicyError` naming the file and every key at fault, so a typing slip stops
a service at start (or, for a file re-read while running, leaves the last
good policy in force) instead of surfacing later as a KeyError in a timer.
This module holds what all of them share: the reading, the message, and the
fields that policy files use.
"""
import math
import os
import re

import yaml
from marshmallow import RAISE, Schema, ValidationError, fields, validate
from nameko.extensions import DependencyProvider

from shared.fields import ID_RE

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLOCK_RE = re.compile(r"\A([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?\Z")
# The longest duration a policy may set. Longer is a typing slip; far enough
# beyond it, a timer adding it to a date overflows.
MAX_SECONDS = 10 * 366 * 86400


class PolicyError(ValueError):
    """A policy file the services cannot run. The message names the file and
    each key path at fault: "policy/cases.yml: escalation.ladder[1]: ..."."""

    def __init__(self, path, problems):
        self.path = shown(path)
        self.problems = list(problems)  # [(key path, message)]
        super().__init__(f"{self.path}: " + "; ".join(
            f"{key}: {message}" if key else message for key, message in self.problems))


def shown(path):
    """A path as people know it: relative to the repository when inside it."""
    path = os.path.abspath(path)
    inside = os.path.commonpath([path, ROOT]) == ROOT
    return os.path.relpath(path, ROOT) if inside else path


def key_problems(messages, at=""):
    """(key path, message) pairs from marshmallow's nested error messages:
    mapping keys joined with dots, list positions as [i]."""
    if isinstance(messages, dict):
        for key, sub in messages.items():
            if key == "_schema":
                where = at
            elif isinstance(key, int):
                where = f"{at}[{key}]"
            else:
                where = f"{at}.{key}" if at else str(key)
            yield from key_problems(sub, where)
    elif isinstance(messages, list):
        for message in messages:
            yield from key_problems(message, at)
    else:
        yield at, str(messages)


def check(schema, data, path):
    """`data` as read, when `schema` finds nothing wrong with it.

    The policy stays the plain data of the file: the schema only refuses
    what the code could not run, it does not reshape what it accepts.
    """
    if not isinstance(data, dict):
        raise PolicyError(path, [("", "the file must hold a mapping of keys")])
    try:
        schema.load(data)
    except ValidationError as exc:
        raise PolicyError(path, list(key_problems(exc.messages))) from None
    return data


def read_file(path, schema):
    """The policy file at `path`, checked; PolicyError when it cannot run."""
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as exc:
        raise PolicyError(path, [("", exc.strerror or str(exc))]) from None
    except (yaml.YAMLError, ValueError) as exc:   # ValueError: a date such as 2026-02-30
        raise PolicyError(path, [("", "not readable YAML: " + " ".join(str(exc).split()))]) \
            from None
    return check(schema, data, path)


def policy_path(config, name):
    return config.get(f"{name.upper()}_POLICY") or os.path.join(ROOT, "policy", f"{name}.yml")


def load_policy(config, name, schema):
    return read_file(policy_path(config, name), schema)


class Policy(DependencyProvider):
    """Hands workers the policy loaded once at start. A file that does not
    load stops the service at start with the PolicyError's message."""

    def __init__(self, name, schema):
        self.name = name
        self.schema = schema

    def setup(self):
        self.policy = load_policy(self.container.config, self.name, self.schema)

    def get_dependency(self, worker_ctx):
        return self.policy


# What policy files are made of.

class PolicySchema(Schema):
    """A part of a policy file. Every key must be known: a misspelt one would
    otherwise be ignored, and the value it meant to set silently not set."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": "unknown key"}


def one_of(choices):
    return validate.OneOf(choices, error="{input!r} is not one of {choices}")


def name(value):
    """A key that names something (a priority, a calendar, a unit)."""
    if not isinstance(value, str) or not re.match(ID_RE, value):
        raise ValidationError(f"{value!r} is not a name (letters, digits, _ and -)")


def dotted_name(value):
    """A key named like the action it concerns: report.file."""
    if not isinstance(value, str) or not re.match(r"\A[a-z][a-z_.]{0,63}\Z", value):
        raise ValidationError(f"{value!r} is not a dotted name (a-z, _ and .)")


def whole(minimum, maximum=None, **kwargs):
    """A whole number (1.0, "1" and true are refused) within bounds."""
    return fields.Integer(strict=True, validate=validate.Range(minimum, maximum), **kwargs)


class Seconds(fields.Field):
    """A duration: a number of seconds above 0 and at most MAX_SECONDS.

    Fractions are allowed (tests shrink clocks to 1.5 s); a string is not,
    since the code adds the value to a date as it is.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or math.isnan(value) or not 0 < value <= MAX_SECONDS:
            raise ValidationError(
                f"must be a number of seconds above 0 and at most {MAX_SECONDS}")
        return value


class Flag(fields.Field):
    """true or false, as YAML writes them (not "yes", 1 or "true")."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("must be true or false")
        return value


class ClockTime(fields.Field):
    """A local time of day, "HH:MM" or "HH:MM:SS", quoted."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, int) and not isinstance(value, bool):
            # YAML 1.1 reads an unquoted 13:30 as the base-60 number 810.
            raise ValidationError('must be a quoted time, e.g. "13:30": unquoted, '
                                  f"YAML reads it as the number {value}")
        if not isinstance(value, str) or not CLOCK_RE.match(value):
            raise ValidationError('must be a time "HH:MM" or "HH:MM:SS" (00:00 to 23:59:59)')
        return value


class Table(fields.Field):
    """A mapping whose keys are checked by `keys` (a validator) and whose
    values by the field `values`. Errors are keyed by the key itself, so the
    message reads `routing.fruad: ...`, not `routing.fruad.key: ...`."""

    def __init__(self, values, keys=None, **kwargs):
        super().__init__(**kwargs)
        self.keys = keys
        self.values = values

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("must be a mapping")
        errors, out = {}, {}
        for key, item in value.items():
            try:
                if self.keys:
                    self.keys(key)
                out[key] = self.values.deserialize(item)
            except ValidationError as exc:
                errors[str(key)] = exc.messages
        if errors:
            raise ValidationError(errors)
        return out
