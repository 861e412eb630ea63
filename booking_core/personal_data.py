"""Personal data kept out of logs and stored errors: phone numbers and email addresses are masked.

Providers' error texts name the recipient ("The 'To' number +15005550001 is not a valid phone
number", "550 5.1.1 <bo@example.com>: no such user"). `mask_personal_data` leaves enough to tell
two recipients apart when debugging (the country code and last two digits of a number, the first
letter and the top-level domain of an address) and nothing to reach them with.
"""

from __future__ import annotations

import re

# An international number as providers print it: a plus, then 8-15 digits, maybe spaced or dashed.
_PHONE = re.compile(r"\+\d(?:[\s().-]?\d){7,14}")
# An address as a mail server prints it (not a validator: see booking_core.bookings.customers for that).
_LOCAL_CHAR = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]"
_EMAIL = re.compile(
    rf"(?:({_LOCAL_CHAR}){_LOCAL_CHAR}*)?@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(\.[A-Za-z]{{2,}})\b"
)


def mask_phone(match: re.Match[str]) -> str:
    """The number with every digit but the first two and the last two replaced by `*`."""
    digits = re.sub(r"\D", "", match.group(0))
    return f"+{digits[:2]}{'*' * (len(digits) - 4)}{digits[-2:]}"


def mask_email(match: re.Match[str]) -> str:
    """The address as its first letter and its top-level domain: `b***@***.com`."""
    return f"{match.group(1) or ''}***@***{match.group(2)}"


def mask_personal_data(text: str) -> str:
    """`text` with every phone number and email address in it masked."""
    return _PHONE.sub(mask_phone, _EMAIL.sub(mask_email, text))
