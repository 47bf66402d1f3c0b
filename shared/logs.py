"""One log record, one line: text from outside (a summary, a name, a
reason) reaches some log lines, and a line break in it could forge a record
that a reader or a log shipper takes for ours. The formatter escapes every
line and paragraph separator in the message (as \\n, \\r, \\u2028 …); a
traceback, which is ours, stays as Python wrote it.

Used by config.yml's LOGGING for every service.
"""
import logging

from shared.fields import LINE_BREAK


def escaped(text):
    return LINE_BREAK.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class OneLineFormatter(logging.Formatter):
    def formatMessage(self, record):
        record.message = escaped(record.message)
        return super().formatMessage(record)
