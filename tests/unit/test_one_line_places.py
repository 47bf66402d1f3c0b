"""Text that reaches a one-line place arrives there harmlessly: a line
break in a notice's title cannot add a mail header, and one in a logged
value cannot forge a log record. (Input refuses line breaks in one-line
fields; these guard older records and text from elsewhere.)"""
import logging
from email import message_from_bytes, policy

from services.notify.channels.email import EmailChannel
from shared.logs import OneLineFormatter

HOSTILE = "Acme\r\nBcc: victim@example.com\u2028X-Evil: 1"


def test_a_title_with_line_breaks_is_one_subject_and_adds_no_header():
    channel = EmailChannel({"SMTP_HOST": "127.0.0.1", "SMTP_FROM": "n@fasttrack.example"}, 5)
    notice = {"title": "案件已受理：" + HOSTILE, "body": "line one\nline two",
              "event_id": "e-1", "language": "zh-CN"}
    raw = channel.message("ops@example.com", notice, "d-1").as_bytes()
    mail = message_from_bytes(raw, policy=policy.default)
    assert "Bcc" not in mail and "X-Evil" not in mail
    assert mail["Subject"] == "案件已受理：Acme  Bcc: victim@example.com X-Evil: 1"
    assert mail.get_content() == "line one\nline two\n"     # the body keeps its lines


def test_a_logged_value_with_line_breaks_stays_on_its_line():
    record = logging.LogRecord("notify", logging.INFO, __file__, 1, "SMS for %s: %s",
                               ("+86 591", HOSTILE), None)
    line = OneLineFormatter("%(levelname)s %(name)s: %(message)s").format(record)
    assert line == "INFO notify: SMS for +86 591: Acme\\r\\nBcc: victim@example.com" \
                   "\\u2028X-Evil: 1"
    assert "\n" not in line and "\u2028" not in line
