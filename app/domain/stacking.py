"""Which eligible promotions combine, given what has been applied so far; and what a redeem does
with the requested codes that do not apply."""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from app.domain.reasons import Reason
from app.domain.rules import Promotion


@dataclass(slots=True)
class StackState:
    max_discounts: int
    applied: int = 0
    exclusive_applied: bool = False

    def refusal(self, promotion: Promotion) -> Reason | None:
        """Why this promotion cannot join the ones already applied, if it cannot."""
        if self.exclusive_applied or (promotion.stacking.is_exclusive and self.applied > 0):
            return Reason.NOT_COMBINABLE
        if self.applied >= self.max_discounts:
            return Reason.MAX_DISCOUNTS_REACHED
        return None

    def record(self, promotion: Promotion) -> None:
        self.applied += 1
        self.exclusive_applied = self.exclusive_applied or promotion.stacking.is_exclusive


# Reasons a valid code was left out only because of the codes and promotions before it.
STACKING_REASONS = frozenset(
    {
        Reason.NOTHING_TO_DISCOUNT,
        Reason.NOT_COMBINABLE,
        Reason.MAX_DISCOUNTS_REACHED,
        Reason.BETTER_OFFER_APPLIED,
    }
)


class CodePolicy(StrEnum):
    """What a redeem does with requested codes that do not apply."""

    ALL_OR_NOTHING = "all_or_nothing"
    """Any code that does not apply refuses the redeem."""
    SKIP_STACKED = "skip_stacked"
    """A code left out only by stacking (STACKING_REASONS) is reported and not consumed, and
    the rest redeems; a code refused for its own reasons refuses the redeem."""
    SKIP_REFUSED = "skip_refused"
    """Every code that does not apply is reported and not consumed, and the rest redeems."""

    def redeems(self, reasons: Sequence[Reason | None]) -> bool:
        """Whether a redeem goes ahead, given each requested code's refusal reason (None: it
        applies). With codes requested, one at least must apply: a redeem that would consume
        none of the codes asked for is refused whatever the policy."""
        refused = [reason for reason in reasons if reason is not None]
        if not refused:
            return True
        if len(refused) == len(reasons) or self is CodePolicy.ALL_OR_NOTHING:
            return False
        if self is CodePolicy.SKIP_STACKED:
            return all(reason in STACKING_REASONS for reason in refused)
        return True
