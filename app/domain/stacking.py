"""Which eligible promotions combine, given what has been applied so far."""

from dataclasses import dataclass

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
