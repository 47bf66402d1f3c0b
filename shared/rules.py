"""What every domain module raises when its rules refuse a command."""


class RuleError(Exception):
    """A command the rules refuse in the current state (answered 409)."""
