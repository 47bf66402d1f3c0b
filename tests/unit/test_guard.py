"""What guards the accounts, as pure rules: the client's address behind a
trusted proxy, the lockout's growth, TOTP steps and recovery codes, admin
tokens and the break-glass mark, and an audit log no code can rewrite."""
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyotp
import pytest

from services.intake import audit, second_factor, throttle
from shared import auth, remote

ROOT = Path(__file__).resolve().parents[2]
PROXIES = remote.trusted_networks("10.0.0.5, 192.168.0.0/16")


@pytest.mark.parametrize("peer, forwarded, expected", [
    ("198.51.100.1", None, "198.51.100.1"),
    # An untrusted peer's header is anyone's say: ignored.
    ("198.51.100.1", "203.0.113.7", "198.51.100.1"),
    ("10.0.0.5", "203.0.113.7", "203.0.113.7"),
    # From the right: trusted proxies are skipped, the first other is the client.
    ("10.0.0.5", "1.2.3.4, 203.0.113.7, 192.168.3.4", "203.0.113.7"),
    # A garbled entry ends the reading: what lies left of it is not believed.
    ("10.0.0.5", "1.2.3.4, bogus, 192.168.3.4", "192.168.3.4"),
    ("10.0.0.5", "", "10.0.0.5"),
    ("10.0.0.5", "2001:db8::1", "2001:db8::1"),
])
def test_the_source_is_the_peer_unless_a_trusted_proxy_forwarded_it(peer, forwarded, expected):
    assert remote.source_address(peer, forwarded, PROXIES) == expected


def test_no_trusted_proxy_by_default():
    assert remote.trusted_networks("") == ()
    assert remote.source_address("127.0.0.1", "203.0.113.7", ()) == "127.0.0.1"


RULES = {"account_failures": 5, "source_failures": 20, "lockout_seconds": 60,
         "lockout_max_seconds": 3600, "forget_seconds": 86400}


def test_a_lockout_doubles_each_time_up_to_its_cap():
    assert [throttle.lockout_seconds(n, RULES) for n in range(8)] == \
        [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert throttle.lockout_seconds(10_000, RULES) == 3600


def test_the_keys_and_their_limits():
    account, source = throttle.keys("officer-li", "203.0.113.7")
    assert (account, source) == ("account:officer-li", "source:203.0.113.7")
    assert throttle.limit_of(account, RULES) == 5 and throttle.limit_of(source, RULES) == 20


def test_retry_after_is_whole_seconds_rounded_up_and_at_least_one():
    now = datetime(2026, 11, 30, tzinfo=timezone.utc)
    assert throttle.retry_after(now + timedelta(seconds=59.2), now) == 60
    assert throttle.retry_after(now + timedelta(milliseconds=1), now) == 1
    assert throttle.retry_after(now, now) == 1


def test_a_totp_code_matches_its_step_and_the_ones_either_side_only():
    secret = second_factor.new_secret()
    totp = pyotp.TOTP(secret)
    now = datetime(2026, 11, 30, 12, 0, 15, tzinfo=timezone.utc)
    step = totp.timecode(now)
    for delta in (-1, 0, 1):
        assert second_factor.matching_step(secret, totp.generate_otp(step + delta), now) \
            == step + delta
    assert second_factor.matching_step(secret, totp.generate_otp(step + 2), now) is None
    assert second_factor.matching_step(secret, totp.generate_otp(step - 2), now) is None
    for bad in ("", "12345", "1234567", "abcdef", None):
        assert second_factor.matching_step(secret, bad, now) is None


def test_an_enrolment_shows_the_codes_once_and_stores_only_their_digests():
    shown, stored = second_factor.enrolment("sup-zhao")
    assert len(shown["secret"]) == 32 and stored["secret"] == shown["secret"]
    assert shown["otpauth_uri"].startswith("otpauth://totp/FastTrack:sup-zhao?")
    codes = shown["recovery_codes"]
    assert len(set(codes)) == 10
    assert all(re.fullmatch(r"[a-z2-7]{4}(-[a-z2-7]{4}){3}", c) for c in codes)
    assert stored["recovery"] == [second_factor.recovery_digest(c) for c in codes]
    assert not set(codes) & set(stored["recovery"])
    # Typed in capitals, without dashes or with spaces: the same code.
    assert second_factor.recovery_digest(codes[0].upper().replace("-", " ")) \
        == stored["recovery"][0]


def test_policy_names_the_roles_that_need_a_factor():
    policy = {"second_factor_roles": ["admin", "supervisor"]}
    assert second_factor.required("supervisor", policy)
    assert not second_factor.required("officer", policy)


KEY = auth.SigningKey.generate()
KEYS = auth.StaticKeys({KEY.kid: KEY.public_key})


def test_an_admin_token_is_an_admin_accounts_and_the_break_glass_token_is_marked():
    token = auth.issue_token(KEY, "admin", "root-admin", account="root-admin")
    who = auth.authenticate(f"Bearer {token}", "admin-secret", KEYS)
    assert (who.role, who.subject, who.account, who.break_glass) == (
        "admin", "root-admin", "root-admin", False)
    for forged in (auth.issue_token(KEY, "admin", "admin"),
                   auth.issue_token(KEY, "admin", "a1", account="someone-else")):
        with pytest.raises(Exception):
            auth.authenticate(f"Bearer {forged}", "admin-secret", KEYS)
    assert auth.authenticate("Bearer admin-secret", "admin-secret", KEYS).break_glass


AUDIT_WRITE = re.compile(r"(\[AUDIT\]|\[\"audit\"\]|\.audit)\s*\.\s*(\w+)\(")


def test_no_code_updates_or_deletes_an_audit_row():
    """The audit log is append-only: the only write anywhere is insert_one."""
    writes = set()
    for path in [*ROOT.glob("services/**/*.py"), *ROOT.glob("shared/**/*.py"),
                 *ROOT.glob("tools/**/*.py")]:
        for match in AUDIT_WRITE.finditer(path.read_text()):
            writes.add((str(path.relative_to(ROOT)), match.group(2)))
    methods = {m for _, m in writes}
    assert ("services/intake/audit.py", "insert_one") in writes
    assert methods <= {"insert_one", "find", "find_one", "count_documents"}, writes


def test_an_audit_row_keeps_typed_text_bounded_and_free_of_control_characters():
    assert audit._short("evil\r\nsignin.succeeded\x1b[2J" + "x" * 500) == \
        "evil??signin.succeeded?[2J" + "x" * 174
    assert audit._short(3) == 3
