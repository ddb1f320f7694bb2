"""Support agents' apology codes: who they are for, and what a key may hand out."""

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True, slots=True)
class IssuingLimits:
    """Per API key: the most one code may take off (a fixed amount in currency, or a
    percentage in basis points), and the fixed amounts it may issue per UTC day in total."""

    api_key_id: UUID
    currency: str
    max_code_amount: int
    max_code_basis_points: int
    daily_amount: int


def customer_key(customer_id: str | None, email: str | None) -> str:
    """The customer id a support code is bound to: the id exactly as given (like every customer
    id the checkout sends), or else the e-mail address trimmed and lower-cased, which the
    checkout must then send as the id."""
    if customer_id is not None:
        return customer_id
    if email is not None and email.strip():
        return email.strip().lower()
    raise ValueError("a support code needs a customer id or an e-mail address")


@dataclass(frozen=True, slots=True)
class OverLimit:
    """Why a code is more than the key may issue."""

    field: str
    detail: str


def check_code_value(
    limits: IssuingLimits, *, amount: int | None, currency: str | None, basis_points: int | None
) -> OverLimit | None:
    """None when one code of this value is within the key's per-code limit. A fixed amount must
    be in the key's currency."""
    if amount is not None:
        if currency != limits.currency:
            return OverLimit(
                "currency", f"This key issues fixed amounts in {limits.currency} only."
            )
        if amount > limits.max_code_amount:
            return OverLimit(
                "amount",
                f"{amount} is over this key's limit of {limits.max_code_amount} "
                f"(minor units of {currency}) per code.",
            )
    if basis_points is not None and basis_points > limits.max_code_basis_points:
        return OverLimit(
            "basis_points",
            f"{basis_points} basis points is over this key's limit of "
            f"{limits.max_code_basis_points} per code.",
        )
    return None
