"""What every domain command answers, and what it raises when the rules
refuse it."""
from typing import Any

Fields = dict[str, Any]            # top-level fields a command sets (None: a clock stops)
Entry = dict[str, Any]             # one history entry (shared/history.py)
Event = tuple[str, dict[str, Any]]  # (event type, its data)
# A command's answer: (fields, entries, events), stored by shared/aggregate.py
# in one write.
Change = tuple[Fields, list[Entry], list[Event]]


class RuleError(Exception):
    """A command the rules refuse in the current state (answered 409)."""
