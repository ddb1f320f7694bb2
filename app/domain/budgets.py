"""Campaign budgets: how many redemptions a campaign may have in all ("the first 1,000 orders"),
and how much its discounts may take off orders in each currency ("at most 5,000.00 off in
total"). A redemption counts once against the first, whatever number of the campaign's codes it
used; its line and shipping discounts count against the second, in the order's currency.
Cashback and gifts are not counted."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from uuid import UUID

# The unit of the redemption-count budget; a money budget's unit is its currency code.
REDEMPTIONS = "redemptions"


class OverBudget(StrEnum):
    """What a discount that would cross the campaign's money budget does."""

    REFUSE = "refuse"
    """The promotion is refused (`budget_exceeded`)."""
    REDUCE = "reduce"
    """The discount is reduced to what is left of the budget."""


@dataclass(frozen=True, slots=True)
class Budget:
    """A campaign's caps; an empty one caps nothing."""

    max_redemptions: int | None = None
    max_discount: Mapping[str, int] = field(default_factory=dict)
    """Minor units per currency."""
    over_budget: OverBudget = OverBudget.REFUSE

    def caps(self) -> dict[str, int]:
        """Each capped unit and its cap."""
        caps = dict(self.max_discount)
        if self.max_redemptions is not None:
            caps[REDEMPTIONS] = self.max_redemptions
        return caps


@dataclass(frozen=True, slots=True)
class BudgetLeft:
    """What a campaign's budgets had left when read, for a request in one currency (None: that
    unit is not capped)."""

    redemptions: int | None
    amount: int | None
    over_budget: OverBudget = OverBudget.REFUSE

    @property
    def is_spent(self) -> bool:
        return self.redemptions == 0 or self.amount == 0


@dataclass(frozen=True, slots=True)
class Applied:
    """One applied promotion, as its campaign's budgets see it."""

    campaign_id: UUID
    budget: BudgetLeft | None
    amount: int
    """Its line and shipping discounts."""


def budget_takes(applied: Iterable[Applied], currency: str) -> list[tuple[UUID, str, int]]:
    """(campaign id, unit, amount) to add to each capped budget for one redemption: one
    redemption per campaign, and the sum of its discounts in currency; sorted, the order their
    rows are locked in."""
    counted: set[UUID] = set()
    amounts: dict[UUID, int] = {}
    for one in applied:
        if one.budget is None:
            continue
        if one.budget.redemptions is not None:
            counted.add(one.campaign_id)
        if one.budget.amount is not None:
            amounts[one.campaign_id] = amounts.get(one.campaign_id, 0) + one.amount
    takes = [(campaign_id, REDEMPTIONS, 1) for campaign_id in counted]
    takes += [(campaign_id, currency, amount) for campaign_id, amount in amounts.items() if amount]
    return sorted(takes)
