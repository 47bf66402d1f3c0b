"""Unified social credit codes (GB 32100-2015) that intake accepts, a fresh
one for each company registered: intake refuses a code whose check
character is wrong."""
import secrets

from services.intake.organisation import credit_code_check_char


def credit_code():
    """An enterprise (91) registered in Fujian (35…), the other 13 digits
    random, then the check character."""
    body = "9135" + "".join(secrets.choice("0123456789") for _ in range(13))
    return body + credit_code_check_char(body)
