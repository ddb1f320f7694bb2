"""The one entry point of the calculation: evaluate a cart against requested codes and the
automatic promotions.

Every candidate is checked on its own first (state, time, customer, market, currency, limits).
The eligible ones then apply in stacking order (priority, high first; codes before automatic
promotions; then a fixed tie-break), each to what the ones before it left, until an exclusive
promotion or the maximum number of discounts ends the stack. Money never leaves the integers:
an order-level amount is rounded once (half up, unless its campaign says otherwise), spread
over lines by largest remainder and over each line's units evenly, so line discounts add up
exactly and nothing goes below zero.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from uuid import UUID

from app.domain.benefits import CalculationBase, Gift, Work
from app.domain.budgets import OverBudget
from app.domain.cart import Cart
from app.domain.codes import is_well_formed, normalise
from app.domain.conditions import CartView
from app.domain.context import EvaluationContext
from app.domain.lines import LineState
from app.domain.money import allocate, format_amount
from app.domain.periods import period_limit_reached, period_takes
from app.domain.reasons import Reason, Shortfall
from app.domain.referrals import is_self_referral
from app.domain.rules import ExclusiveConflict, Promotion
from app.domain.stacking import StackState

DEFAULT_MAX_DISCOUNTS = 5


@dataclass(frozen=True, slots=True)
class Application:
    """What one applied promotion did."""

    promotion: Promotion
    code: str | None
    line_discount_amounts: tuple[int, ...]
    shipping_discount_amount: int
    cashback_amount: int
    gifts: tuple[Gift, ...]

    @property
    def discount_amount(self) -> int:
        return sum(self.line_discount_amounts)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a promotion (or a requested code that matched none) did not apply."""

    promotion: Promotion | None
    code: str | None
    reason: Reason
    message: str
    shortfall: Shortfall | None = None


@dataclass(frozen=True, slots=True)
class CodeVerdict:
    code: str
    promotion: Promotion | None
    application: Application | None = None
    refusal: Refusal | None = None
    uses_left: int | None = None
    """See uses_left()."""

    @property
    def is_valid(self) -> bool:
        return self.refusal is None

    @property
    def reason(self) -> Reason | None:
        return self.refusal.reason if self.refusal else None


@dataclass(frozen=True, slots=True)
class Evaluation:
    cart: Cart
    verdicts: tuple[CodeVerdict, ...]
    applied: tuple[Application, ...]
    skipped: tuple[Refusal, ...]
    line_discount_amounts: tuple[int, ...]
    unit_discounts: tuple[tuple[tuple[int, int], ...], ...]
    shipping_discount_amount: int

    @property
    def subtotal_amount(self) -> int:
        return self.cart.subtotal_amount

    @property
    def discount_amount(self) -> int:
        return sum(self.line_discount_amounts)

    @property
    def shipping_amount(self) -> int:
        return self.cart.shipping_amount

    @property
    def total_amount(self) -> int:
        return (
            self.subtotal_amount
            - self.discount_amount
            + self.shipping_amount
            - self.shipping_discount_amount
        )

    @property
    def cashback_amount(self) -> int:
        return sum(a.cashback_amount for a in self.applied)

    @property
    def is_valid(self) -> bool:
        """Every requested code applies."""
        return all(v.is_valid for v in self.verdicts)


_MESSAGES: dict[Reason, str] = {
    Reason.NOT_FOUND: "This code does not exist.",
    Reason.DUPLICATE_CODE: "This code is already in the request.",
    Reason.PAUSED: "This offer is not available at the moment.",
    Reason.DISABLED: "This code is no longer available.",
    Reason.NOT_STARTED: "This offer has not started yet.",
    Reason.EXPIRED: "This offer has expired.",
    Reason.OUTSIDE_SCHEDULE: "This offer is not available at this time.",
    Reason.CUSTOMER_REQUIRED: "This offer is only for signed-in customers.",
    Reason.CUSTOMER_MISMATCH: "This code belongs to another customer.",
    Reason.SELF_REFERRAL: "Your own referral code is for your friends to use.",
    Reason.SEGMENT_NOT_ELIGIBLE: "This offer is not available to you.",
    Reason.FIRST_ORDER_ONLY: "This offer is for a first order only.",
    Reason.MARKET_NOT_ELIGIBLE: "This offer is not available in your country.",
    Reason.LOCALE_NOT_ELIGIBLE: "This offer is not available in your language.",
    Reason.CURRENCY_MISMATCH: "This offer cannot be used in this currency.",
    Reason.LIMIT_REACHED: "This offer has been used up.",
    Reason.CUSTOMER_LIMIT_REACHED: "You have already used this offer as often as allowed.",
    Reason.PERIOD_LIMIT_REACHED: "This offer has been used as often as allowed for now.",
    Reason.BUDGET_EXHAUSTED: "This offer has been used up.",
    Reason.BUDGET_EXCEEDED: "What is left of this offer does not cover this order's discount.",
    Reason.NO_ELIGIBLE_ITEMS: "None of the items in the cart are part of this offer.",
    Reason.MIN_SUBTOTAL_NOT_MET: "The eligible items are below this offer's minimum.",
    Reason.MIN_QUANTITY_NOT_MET: "There are not enough eligible items for this offer.",
    Reason.NOTHING_TO_DISCOUNT: "There is nothing left in the order for this offer to discount.",
    Reason.NOT_COMBINABLE: "This offer cannot be combined with the other offers applied.",
    Reason.MAX_DISCOUNTS_REACHED: "The order already has the most discounts allowed.",
    Reason.BETTER_OFFER_APPLIED: "A better offer of the same kind applies instead.",
    Reason.REQUIRED_ITEMS_MISSING: "The cart does not have the items this offer requires.",
    Reason.SHIPPING_METHOD_NOT_ELIGIBLE: "This offer is not available with this shipping method.",
    Reason.NO_BALANCE: "Nothing is left to spend on this gift card.",
}


def uses_left(promotion: Promotion, ctx: EvaluationContext) -> int | None:
    """How many more times this shopper could use the promotion as things stand: the least of
    what is left of its code's limit, the customer's limits, the campaign's redemption budget
    and its limits per period; None when nothing caps it. A hint for the checkout ("2 left
    today"), not a promise: others may use them first."""
    usage = promotion.usage
    left: list[int] = []
    if usage.max_redemptions is not None:
        left.append(usage.max_redemptions - usage.redemption_count)
    if ctx.customer_id is not None:
        if usage.per_customer_limit is not None:
            left.append(usage.per_customer_limit - usage.customer_redemption_count)
        if usage.campaign_per_customer_limit is not None:
            left.append(
                usage.campaign_per_customer_limit - usage.campaign_customer_redemption_count
            )
    if promotion.budget is not None and promotion.budget.redemptions is not None:
        left.append(promotion.budget.redemptions)
    periods = promotion.rules.periods
    for take in period_takes(
        promotion.campaign_id, promotion.code_id, periods, ctx.customer_id, ctx.now
    ):
        left.append(take.limit - promotion.period_used.get(take.key, 0))
    return max(0, min(left)) if left else None


def message_for(reason: Reason) -> str:
    """The constant human message of a reason (shortfall hints are added per refusal)."""
    return _MESSAGES[reason]


def _refusal(
    promotion: Promotion | None,
    code: str | None,
    reason: Reason,
    shortfall: Shortfall | None = None,
    currency: str = "",
) -> Refusal:
    message = message_for(reason)
    if shortfall is not None and shortfall.amount is not None:
        message += f" Add {format_amount(shortfall.amount, currency)} more to unlock it."
    elif shortfall is not None and shortfall.quantity is not None:
        items = "item" if shortfall.quantity == 1 else "items"
        message += f" Add {shortfall.quantity} more {items} to unlock it."
    return Refusal(promotion, code, reason, message, shortfall)


def eligibility(promotion: Promotion, cart: Cart, ctx: EvaluationContext) -> Reason | None:
    """The first unmet requirement that does not depend on the cart's contents, in a fixed
    order: state, time, who, where, currency, limits."""
    if not promotion.is_active:
        return Reason.PAUSED
    if promotion.is_disabled:
        return Reason.DISABLED
    if promotion.starts_at is not None and ctx.now < promotion.starts_at:
        return Reason.NOT_STARTED
    if (promotion.ends_at is not None and ctx.now >= promotion.ends_at) or (
        promotion.expires_at is not None and ctx.now >= promotion.expires_at
    ):
        return Reason.EXPIRED
    conditions = promotion.rules.conditions
    if conditions.schedule is not None and not conditions.schedule.contains(ctx.now):
        return Reason.OUTSIDE_SCHEDULE
    if promotion.needs_customer and ctx.customer_id is None:
        return Reason.CUSTOMER_REQUIRED
    if promotion.bound_customer_id is not None and promotion.bound_customer_id != ctx.customer_id:
        return Reason.CUSTOMER_MISMATCH
    if promotion.referrer_id is not None and is_self_referral(
        promotion.referrer_id, promotion.referrer_email_key, ctx
    ):
        return Reason.SELF_REFERRAL
    audience = conditions.audience_refusal(ctx)
    if audience is not None:
        return audience
    if not promotion.rules.accepts_currency(cart.currency):
        return Reason.CURRENCY_MISMATCH
    usage = promotion.usage
    if usage.max_redemptions is not None and usage.redemption_count >= usage.max_redemptions:
        return Reason.LIMIT_REACHED
    if (
        usage.per_customer_limit is not None
        and usage.customer_redemption_count >= usage.per_customer_limit
    ) or (
        usage.campaign_per_customer_limit is not None
        and usage.campaign_customer_redemption_count >= usage.campaign_per_customer_limit
    ):
        return Reason.CUSTOMER_LIMIT_REACHED
    periods = promotion.rules.periods
    if periods.limits:
        takes = period_takes(
            promotion.campaign_id, promotion.code_id, periods, ctx.customer_id, ctx.now
        )
        if period_limit_reached(takes, promotion.period_used):
            return Reason.PERIOD_LIMIT_REACHED
    if promotion.budget is not None and promotion.budget.is_spent:
        return Reason.BUDGET_EXHAUSTED
    return None


_Saved = tuple[
    list[tuple[dict[int, int], int, bool, bool]],
    int,
    tuple[int, bool],
    tuple[bool, bool],
    dict[UUID, int],
]
# A candidate: the promotion, and the position of its code in the request (None: automatic).
_Candidate = tuple[Promotion, int | None]
_Outcome = tuple[Promotion, int | None, "Application | Refusal"]


def _benefit(application: Application) -> tuple[int, int]:
    """What a best_of group compares: the discount (lines and shipping), then cashback."""
    return (
        application.discount_amount + application.shipping_discount_amount,
        application.cashback_amount,
    )


@dataclass(slots=True)
class _Order:
    """The engine's working state for one evaluation."""

    cart: Cart
    states: list[LineState]
    canonical: list[LineState]
    shipping_amount: int
    stack: StackState
    # Whether any line is locked (by a line-exclusive promotion) or discounted at all: while
    # neither is, every line can be taken, and apply() need not filter the lines.
    any_locked: bool = False
    any_discounted: bool = False
    # What the promotions applied so far took off, per campaign with a money budget.
    budget_used: dict[UUID, int] = field(default_factory=dict)

    def _reduced(
        self, parts: tuple[int, ...], shipping_off: int, left: int
    ) -> tuple[tuple[int, ...], int]:
        """A discount of parts (by line) and shipping_off cut down to left, which is less: left
        is spread over what each line and the shipping would have lost, by largest remainder in
        the lines' canonical order (so the order of the cart's lines does not matter), and taken
        off the lines as evenly over their units as any amount. The lines are as before the
        discount when this is called."""
        weights = [parts[state.index] for state in self.canonical] + [shipping_off]
        *by_canonical, shipping = allocate(left, weights)
        reduced = [0] * len(parts)
        for state, part in zip(self.canonical, by_canonical, strict=True):
            state.take(part)
            reduced[state.index] = part
        return tuple(reduced), shipping

    def snapshot(self) -> "_Saved":
        return (
            [(dict(s.units), s.remaining, s.is_discounted, s.is_locked) for s in self.states],
            self.shipping_amount,
            (self.stack.applied, self.stack.exclusive_applied),
            (self.any_locked, self.any_discounted),
            dict(self.budget_used),
        )

    def restore(self, saved: "_Saved") -> None:
        lines, self.shipping_amount, stack, flags, budget_used = saved
        for state, (units, remaining, discounted, locked) in zip(self.states, lines, strict=True):
            state.units, state.remaining = dict(units), remaining
            state.is_discounted, state.is_locked = discounted, locked
        self.stack.applied, self.stack.exclusive_applied = stack
        self.any_locked, self.any_discounted = flags
        self.budget_used = dict(budget_used)

    def apply(self, promotion: Promotion, code: str | None) -> Application | Refusal:
        currency = self.cart.currency
        refused = self.stack.refusal(promotion)
        if refused is not None:
            return _refusal(promotion, code, refused)
        rules = promotion.rules
        matches = rules.target.matches
        targeted = [s for s in self.canonical if matches(s.line)]
        if not targeted:
            return _refusal(promotion, code, Reason.NO_ELIGIBLE_ITEMS)
        conditions = rules.conditions
        after_discounts = rules.base is CalculationBase.AFTER_DISCOUNTS
        minimum = conditions.min_subtotal_amounts.get(currency)
        if minimum is not None:
            if after_discounts:
                eligible_amount = sum(s.remaining for s in targeted)
            else:
                eligible_amount = sum(s.line.amount for s in targeted)
            if eligible_amount < minimum:
                missing = Shortfall(amount=minimum - eligible_amount)
                return _refusal(promotion, code, Reason.MIN_SUBTOTAL_NOT_MET, missing, currency)
        min_quantity = conditions.min_quantity
        if min_quantity is not None:
            quantity = sum(s.quantity for s in targeted)
            if quantity < min_quantity:
                missing = Shortfall(quantity=min_quantity - quantity)
                return _refusal(promotion, code, Reason.MIN_QUANTITY_NOT_MET, missing)
        if conditions.cart:
            view = CartView(currency, self.canonical, self.cart.shipping_method, after_discounts)
            for condition in conditions.cart:
                unmet = condition.refusal(view)
                if unmet is not None:
                    return _refusal(promotion, code, unmet[0], unmet[1], currency)

        # A line can be taken unless it is locked, or it is discounted and this promotion is
        # line-exclusive.
        line_exclusive = promotion.stacking.is_line_exclusive
        if self.any_locked or (line_exclusive and self.any_discounted):
            lines = [
                s for s in targeted if not s.is_locked and not (line_exclusive and s.is_discounted)
            ]
            available = [
                s
                for s in self.canonical
                if not s.is_locked and not (line_exclusive and s.is_discounted)
            ]
        else:
            # Every line can be taken (the common case: the first promotion, or a stack with no
            # line-exclusive one). Effects only read these lists, so they are passed as they are.
            lines, available = targeted, self.canonical
        work = Work(
            currency,
            lines,
            available,
            targeted,
            self.shipping_amount,
            self.cart.shipping_amount,
            self.cart.shipping_method,
            rules.rounding,
            rules.base,
        )
        wrong_method: tuple[Reason, Shortfall | None] | None = None
        for effect in rules.effects:
            unmet = effect.requirement(work)
            if unmet is None:
                continue
            if unmet[0] is Reason.SHIPPING_METHOD_NOT_ELIGIBLE:
                # That effect gives nothing with this method; the others still apply.
                wrong_method = unmet
                continue
            return _refusal(promotion, code, unmet[0], unmet[1], currency)

        budget = promotion.budget
        left: int | None = None
        if budget is not None and budget.amount is not None:
            left = budget.amount - self.budget_used.get(promotion.campaign_id, 0)
            if left <= 0:
                return _refusal(promotion, code, Reason.BUDGET_EXHAUSTED)
            saved = [(dict(s.units), s.remaining) for s in self.states]

        before = [s.remaining for s in self.states]
        for effect in rules.effects:
            effect.apply(work)
        parts = tuple([b - s.remaining for b, s in zip(before, self.states, strict=True)])
        shipping_off = self.shipping_amount - work.shipping_amount
        if left is not None and sum(parts) + shipping_off > left:
            assert budget is not None
            for state, (units, remaining) in zip(self.states, saved, strict=True):
                state.units, state.remaining = units, remaining
            if budget.over_budget is OverBudget.REFUSE:
                return _refusal(promotion, code, Reason.BUDGET_EXCEEDED)
            parts, shipping_off = self._reduced(parts, shipping_off, left)
            work.shipping_amount = self.shipping_amount - shipping_off
        discounted = any(parts)
        if not discounted and not shipping_off and not work.cashback_amount and not work.gifts:
            # Effects only lower prices, so no line changing means nothing to undo.
            if wrong_method is not None:
                return _refusal(promotion, code, wrong_method[0], wrong_method[1])
            return _refusal(promotion, code, Reason.NOTHING_TO_DISCOUNT)

        if discounted:
            for state, part in zip(self.states, parts, strict=True):
                if part:
                    state.is_discounted = True
                    state.is_locked = state.is_locked or line_exclusive
            self.any_discounted = True
            self.any_locked = self.any_locked or line_exclusive
        self.shipping_amount = work.shipping_amount
        self.stack.record(promotion)
        if left is not None:
            taken = sum(parts) + shipping_off
            self.budget_used[promotion.campaign_id] = (
                self.budget_used.get(promotion.campaign_id, 0) + taken
            )
        return Application(
            promotion=promotion,
            code=code,
            line_discount_amounts=parts,
            shipping_discount_amount=shipping_off,
            cashback_amount=work.cashback_amount,
            gifts=tuple(work.gifts),
        )


def evaluate(
    cart: Cart,
    codes: Sequence[str],
    promotions: Mapping[str, Promotion],
    ctx: EvaluationContext,
    automatic: Sequence[Promotion] = (),
    max_discounts: int = DEFAULT_MAX_DISCOUNTS,
) -> Evaluation:
    """Verdicts for codes (as typed, in request order) and the automatic promotions, and what
    they do to cart together.

    promotions maps a normalised code to what is stored for it; a code missing there is
    not_found. Line discounts sum exactly to the discount, no line or unit is discounted below
    zero, the total is never negative, and the order of the cart's lines does not matter.
    """
    states = [LineState.of(index, line) for index, line in enumerate(cart.lines)]
    canonical = sorted(states, key=attrgetter("key"))
    order = _Order(cart, states, canonical, cart.shipping_amount, StackState(max_discounts))

    refusals: dict[int, Refusal] = {}
    candidates: list[tuple[Promotion, int | None]] = []
    seen: set[str] = set()
    for position, typed in enumerate(codes):
        key = normalise(typed)
        promotion = promotions.get(key) if is_well_formed(key) else None
        if key in seen:
            refusals[position] = _refusal(promotion, typed, Reason.DUPLICATE_CODE)
            continue
        seen.add(key)
        if promotion is None:
            refusals[position] = _refusal(None, typed, Reason.NOT_FOUND)
            continue
        reason = eligibility(promotion, cart, ctx)
        if reason is None:
            candidates.append((promotion, position))
        else:
            refusals[position] = _refusal(promotion, typed, reason)
    skipped: list[Refusal] = []
    for promotion in automatic:
        reason = eligibility(promotion, cart, ctx)
        if reason is None:
            candidates.append((promotion, None))
        else:
            skipped.append(_refusal(promotion, None, reason))

    if len(candidates) > 1:  # one candidate (the usual single code) has nothing to order
        candidates.sort(key=lambda c: c[0].stacking_key)
    applications: dict[int, Application] = {}
    applied: list[Application] = []
    for _, slot, outcome in _stack_all(order, candidates, codes):
        if isinstance(outcome, Application):
            applied.append(outcome)
            if slot is not None:
                applications[slot] = outcome
        elif slot is not None:
            refusals[slot] = outcome
        else:
            skipped.append(outcome)

    verdicts = tuple(
        CodeVerdict(
            code=typed,
            promotion=(
                promotion := (refusals[i].promotion if i in refusals else applications[i].promotion)
            ),
            application=applications.get(i),
            refusal=refusals.get(i),
            uses_left=None if promotion is None else uses_left(promotion, ctx),
        )
        for i, typed in enumerate(codes)
    )
    return Evaluation(
        cart=cart,
        verdicts=verdicts,
        applied=tuple(applied),
        skipped=tuple(skipped),
        line_discount_amounts=tuple(s.discount_amount for s in states),
        unit_discounts=tuple(tuple(s.unit_discounts()) for s in states),
        shipping_discount_amount=cart.shipping_amount - order.shipping_amount,
    )


def _stack_all(order: _Order, candidates: list[_Candidate], codes: Sequence[str]) -> list[_Outcome]:
    """Every candidate applied or refused, in stacking order. Exclusive promotions that step
    aside (ExclusiveConflict.REFUSE) stack only when none of the others applies; when one does,
    each is tried alone to say why it did not apply: not_combinable if it would have, else its
    own reason."""
    yielding = [
        c
        for c in candidates
        if c[0].stacking.is_exclusive
        and c[0].stacking.exclusive_conflict is ExclusiveConflict.REFUSE
    ]
    if not yielding:
        return _stack(order, candidates, codes)
    others = [c for c in candidates if not any(c is y for y in yielding)]
    pristine = order.snapshot()
    outcomes = _stack(order, others, codes)
    if not any(isinstance(outcome, Application) for _, _, outcome in outcomes):
        # Nothing else applied, so nothing changed the order: the others keep their own
        # reasons, and the exclusive ones stack as usual.
        return outcomes + _stack(order, yielding, codes)
    # Others applied: an exclusive one that would have applied alone steps aside
    # (not_combinable); one that would not keeps its own reason ("add 4.50 more").
    stacked = order.snapshot()
    for promotion, slot in yielding:
        order.restore(pristine)
        alone = order.apply(promotion, _typed(codes, slot))
        if isinstance(alone, Application):
            alone = _refusal(promotion, _typed(codes, slot), Reason.NOT_COMBINABLE)
        outcomes.append((promotion, slot, alone))
    order.restore(stacked)
    return outcomes


def _typed(codes: Sequence[str], slot: int | None) -> str | None:
    return codes[slot] if slot is not None else None


def _stack(order: _Order, candidates: list[_Candidate], codes: Sequence[str]) -> list[_Outcome]:
    """Apply candidates (in stacking order) one after the other. The members of a best_of
    group are decided together where the first of them comes: each is tried on the order as
    it stands, and only the one giving the most applies (on a tie, the first in stacking
    order); the others that would have applied are refused as better_offer_applied."""
    outcomes: list[_Outcome] = []
    decided: set[str] = set()
    for promotion, slot in candidates:
        group = promotion.stacking.best_of
        if group is None:
            outcomes.append((promotion, slot, order.apply(promotion, _typed(codes, slot))))
            continue
        if group in decided:
            continue
        decided.add(group)
        members = [c for c in candidates if c[0].stacking.best_of == group]
        saved = order.snapshot()
        trials: list[Application | Refusal] = []
        for member, member_slot in members:
            trials.append(order.apply(member, _typed(codes, member_slot)))
            order.restore(saved)
        best: int | None = None
        for index, trial in enumerate(trials):
            if isinstance(trial, Application):
                chosen = trials[best] if best is not None else None
                if not isinstance(chosen, Application) or _benefit(trial) > _benefit(chosen):
                    best = index
        for index, ((member, member_slot), trial) in enumerate(zip(members, trials, strict=True)):
            typed = _typed(codes, member_slot)
            if index == best:
                outcome = order.apply(member, typed)
            elif isinstance(trial, Application):
                outcome = _refusal(member, typed, Reason.BETTER_OFFER_APPLIED)
            else:
                outcome = trial
            outcomes.append((member, member_slot, outcome))
    return outcomes


def reapply(
    cart: Cart, promotions: Sequence[tuple[Promotion, str | None]], max_discounts: int
) -> Evaluation:
    """What promotions an order applied give on cart (what stays of the order after a
    return): applied again in the order they applied at redeem (promotions' order: not
    re-sorted, as the winner of a best_of group applied where its group's first member came),
    each checked only against the cart (its target, minimums and effects' requirements), not
    for eligibility, which held when the order was redeemed. A promotion that no longer
    applies is in `skipped` with its reason."""
    states = [LineState.of(index, line) for index, line in enumerate(cart.lines)]
    canonical = sorted(states, key=attrgetter("key"))
    order = _Order(cart, states, canonical, cart.shipping_amount, StackState(max_discounts))
    applied: list[Application] = []
    skipped: list[Refusal] = []
    for promotion, code in promotions:
        outcome = order.apply(promotion, code)
        if isinstance(outcome, Application):
            applied.append(outcome)
        else:
            skipped.append(outcome)
    return Evaluation(
        cart=cart,
        verdicts=(),
        applied=tuple(applied),
        skipped=tuple(skipped),
        line_discount_amounts=tuple(s.discount_amount for s in states),
        unit_discounts=tuple(tuple(s.unit_discounts()) for s in states),
        shipping_discount_amount=cart.shipping_amount - order.shipping_amount,
    )
