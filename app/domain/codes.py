"""Coupon code text: how a typed code is matched to a stored one."""

import re
import unicodedata

CODE_MAX_LENGTH = 64
# Letters and digits of any script, plus '-', '_' and '.', starting with a letter or digit.
_CODE_SYNTAX = re.compile(r"^[^\W_][\w.-]*$")


def normalise(code: str) -> str:
    """The matching key of a code: NFKC, trimmed, case-folded; 'Summer10 ' matches 'SUMMER10'."""
    return unicodedata.normalize("NFKC", code).strip().casefold()


def display(code: str) -> str:
    """The code as stored and shown: NFKC and trimmed, case kept. Never longer than
    normalise(code), so a well-formed code's display form fits the same column."""
    return unicodedata.normalize("NFKC", code).strip()


def is_well_formed(normalised: str) -> bool:
    """True when a normalised code could have been created: 1-64 letters, digits, '-', '_', '.'."""
    return 0 < len(normalised) <= CODE_MAX_LENGTH and _CODE_SYNTAX.match(normalised) is not None
