"""The one error family: each maps to an HTTP status and a stable code."""


class ApiError(Exception):
    status = 400
    code = "bad_request"
    headers: dict | None = None     # e.g. Retry-After, Content-Range, on the answer

    def __init__(self, message, fields=None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}

    def to_dict(self):
        return {"error": {"code": self.code, "message": self.message,
                          "fields": self.fields}}


class BadRequest(ApiError):
    status, code = 400, "bad_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class TooLarge(ApiError):
    status, code = 413, "too_large"


class Invalid(ApiError):
    status, code = 422, "invalid"


class TooMany(ApiError):
    """Over a rate limit (shared/ratelimit.py): the answer says when to retry."""
    status, code = 429, "too_many_requests"

    def __init__(self, message, fields=None, retry_after=1):
        super().__init__(message, fields)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class RangeNotSatisfiable(ApiError):
    """A byte range beyond a file's end: the answer says how long it is."""
    status, code = 416, "range_not_satisfiable"

    def __init__(self, message, size):
        super().__init__(message)
        self.headers = {"Content-Range": f"bytes */{size}"}


class Unavailable(ApiError):
    status, code = 503, "unavailable"
