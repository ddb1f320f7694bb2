"""What validate and redeem answer, as typed values: app/rendering.py turns them into the JSON
the API sends and stores for replays, and api/schemas/checkout.py describes that JSON (a test
renders each and validates it against its schema)."""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import TypeAdapter

from app import i18n
from app.domain.benefits import Gift
from app.domain.engine import Evaluation, Refusal, message_for
from app.domain.ledger import AccountKind
from app.domain.reasons import Reason, Shortfall
from app.rendering import plain

APPLIES = "The code applies."


@dataclass(frozen=True, slots=True)
class CodeVerdict:
    code: str
    valid: bool
    reason: Reason | None
    message: str
    campaign_id: UUID | None
    discount_amount: int
    shortfall: Shortfall | None
    uses_left: int | None = None
    """How many more times the shopper could use the code as things stand (engine.uses_left);
    None when nothing caps it or the code matched nothing."""


@dataclass(frozen=True, slots=True)
class AppliedPromotion:
    campaign_id: UUID
    campaign_name: str
    code: str | None
    discount_amount: int
    shipping_discount_amount: int
    cashback_amount: int
    gifts: tuple[Gift, ...]


@dataclass(frozen=True, slots=True)
class SkippedPromotion:
    campaign_id: UUID
    campaign_name: str
    code: str | None
    reason: Reason
    message: str
    shortfall: Shortfall | None


@dataclass(frozen=True, slots=True)
class LineDiscount:
    campaign_id: UUID
    code: str | None
    amount: int


@dataclass(frozen=True, slots=True)
class UnitDiscount:
    quantity: int
    amount: int


@dataclass(frozen=True, slots=True)
class LineResult:
    index: int
    sku: str
    quantity: int
    unit_price_amount: int
    amount: int
    discount_amount: int
    total_amount: int
    unit_discounts: tuple[UnitDiscount, ...]
    discounts: tuple[LineDiscount, ...]


@dataclass(frozen=True, slots=True)
class Validation:
    """An evaluation as validate answers it, and as a redemption keeps it."""

    valid: bool
    currency: str
    customer_id: str | None
    subtotal_amount: int
    discount_amount: int
    shipping_amount: int
    shipping_discount_amount: int
    total_amount: int
    cashback_amount: int
    codes: tuple[CodeVerdict, ...]
    applied: tuple[AppliedPromotion, ...]
    skipped: tuple[SkippedPromotion, ...]
    lines: tuple[LineResult, ...]

    def with_limit_reached(
        self, reason: Reason = Reason.LIMIT_REACHED, locale: str | None = None
    ) -> "Validation":
        """Every code refused for the limit a redeem lost every race for (limit_reached unless
        reason says which: a customer's, a budget, a period counter)."""
        text = message_for(reason) if locale is None else i18n.message(reason, None, "", locale)
        lost = tuple(replace(code, valid=False, reason=reason, message=text) for code in self.codes)
        return replace(self, valid=False, codes=lost)


@dataclass(frozen=True, slots=True)
class BalanceVerdict:
    """A balance code sent to redeem: whether it pays, and how much."""

    code: str
    valid: bool
    reason: Reason | None
    message: str
    amount: int


@dataclass(frozen=True, slots=True)
class Payment:
    code: str
    kind: AccountKind
    amount: int
    remaining_amount: int


@dataclass(frozen=True, slots=True)
class BalanceRefund:
    """What a rollback or a return put back on one gift card or wallet."""

    code: str
    kind: AccountKind
    amount: int


@dataclass(frozen=True, slots=True)
class CashbackCredit:
    wallet_code: str
    amount: int
    available_at: datetime


@dataclass(frozen=True, slots=True)
class Settlement:
    """What a redemption's balance codes paid and its cashback credited."""

    balance_codes: tuple[BalanceVerdict, ...] = ()
    payments: tuple[Payment, ...] = ()
    paid_amount: int = 0
    cashback_credit: CashbackCredit | None = None


NOTHING_SETTLED = Settlement()


@dataclass(frozen=True, slots=True)
class ReturnedLine:
    index: int
    """The line's position in the redeemed cart."""
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Returned:
    """What was returned of a redeemed order so far, and the order as it stands."""

    lines: tuple[ReturnedLine, ...]
    subtotal_amount: int
    discount_amount: int
    shipping_discount_amount: int
    total_amount: int
    cashback_amount: int
    refunded_amount: int
    """How much the order's total went down by: what its returns gave back in all."""


@dataclass(frozen=True, slots=True)
class Redemption(Validation):
    """A redemption as redeem, rollback and the redemption's page show it: its evaluation,
    what it settled, and where it stands."""

    id: UUID
    status: str
    order_id: str | None
    consumed_codes: tuple[str, ...]
    """The requested codes this redemption took a use of: those that applied (a code the
    request's policy left out is in `codes` with its reason, and was not consumed)."""
    created_at: datetime
    rolled_back_at: datetime | None
    expires_at: datetime | None
    """A hold's end; None for a redemption made directly."""
    balance_codes: tuple[BalanceVerdict, ...]
    payments: tuple[Payment, ...]
    paid_amount: int
    amount_due: int
    cashback_credit: CashbackCredit | None
    returned: Returned | None
    """Lines returned so far (POST /v1/redemptions/{id}/returns); None: none. The amounts
    above stay as redeemed."""


# A redemption's identity and where it stands, and what follows from its codes' verdicts: what
# its answer has and its kept result does not.
REDEMPTION_STATE = (
    "id",
    "status",
    "order_id",
    "consumed_codes",
    "created_at",
    "rolled_back_at",
    "expires_at",
    "returned",
)


@dataclass(frozen=True, slots=True)
class Kept:
    """What a redemption keeps of its evaluation and settlement (redemptions.result)."""

    validation: Validation
    settlement: Settlement

    def as_stored(self) -> dict[str, Any]:
        """The stored form is the rendered one."""
        stored: dict[str, Any] = plain(self.validation)
        stored.update(plain(self.settlement))
        stored["amount_due"] = self.validation.total_amount - self.settlement.paid_amount
        return stored


_VALIDATION = TypeAdapter(Validation)
_SETTLEMENT = TypeAdapter(Settlement)
_SETTLEMENT_FIELDS = ("balance_codes", "payments", "paid_amount", "cashback_credit")


def kept_from_stored(stored: Mapping[str, Any]) -> Kept:
    """A redemption's kept evaluation and settlement from what redemptions.result holds
    (redemptions recorded before balance codes existed settled nothing)."""
    validation = _VALIDATION.validate_python(
        {name: value for name, value in stored.items() if name in _VALIDATION_FIELDS}
    )
    settlement = _SETTLEMENT.validate_python(
        {name: stored[name] for name in _SETTLEMENT_FIELDS if name in stored}
    )
    return Kept(validation, settlement)


_VALIDATION_FIELDS = frozenset(Validation.__dataclass_fields__)


def redemption(
    kept: Kept,
    *,
    id: UUID,
    status: str,
    order_id: str | None,
    created_at: datetime,
    rolled_back_at: datetime | None,
    expires_at: datetime | None = None,
    returned: Returned | None = None,
) -> Redemption:
    v, s = kept.validation, kept.settlement
    return Redemption(
        **{name: getattr(v, name) for name in _VALIDATION_FIELDS},
        id=id,
        status=status,
        order_id=order_id,
        consumed_codes=tuple(code.code for code in v.codes if code.valid),
        created_at=created_at,
        rolled_back_at=rolled_back_at,
        expires_at=expires_at,
        balance_codes=s.balance_codes,
        payments=s.payments,
        paid_amount=s.paid_amount,
        amount_due=v.total_amount - s.paid_amount,
        cashback_credit=s.cashback_credit,
        returned=returned,
    )


def _message(refusal: Refusal | None, currency: str, locale: str | None) -> str:
    """What a verdict says: the engine's English, or the locale's language (app/i18n)."""
    if locale is None:
        return refusal.message if refusal else APPLIES
    if refusal is None:
        return i18n.applies(locale)
    return i18n.message(refusal.reason, refusal.shortfall, currency, locale)


def validation_of(
    evaluation: Evaluation, customer_id: str | None, locale: str | None = None
) -> Validation:
    """An evaluation as validate answers it, its messages in locale's language when given."""
    cart = evaluation.cart
    per_line: list[list[LineDiscount]] = [[] for _ in cart.lines]
    applied = []
    for application in evaluation.applied:
        campaign_id = application.promotion.campaign_id
        applied.append(
            AppliedPromotion(
                campaign_id=campaign_id,
                campaign_name=application.promotion.name,
                code=application.code,
                discount_amount=application.discount_amount,
                shipping_discount_amount=application.shipping_discount_amount,
                cashback_amount=application.cashback_amount,
                gifts=tuple(application.gifts),
            )
        )
        for index, amount in enumerate(application.line_discount_amounts):
            if amount:
                per_line[index].append(LineDiscount(campaign_id, application.code, amount))
    codes = []
    for verdict in evaluation.verdicts:
        refusal, used = verdict.refusal, verdict.application
        codes.append(
            CodeVerdict(
                code=verdict.code,
                valid=verdict.is_valid,
                reason=refusal.reason if refusal else None,
                message=_message(refusal, cart.currency, locale),
                campaign_id=used.promotion.campaign_id if used else None,
                discount_amount=used.discount_amount if used else 0,
                shortfall=refusal.shortfall if refusal else None,
                uses_left=verdict.uses_left,
            )
        )
    lines = tuple(
        LineResult(
            index=index,
            sku=line.sku,
            quantity=line.quantity,
            unit_price_amount=line.unit_price_amount,
            amount=line.amount,
            discount_amount=discount,
            total_amount=line.amount - discount,
            unit_discounts=tuple(
                UnitDiscount(quantity=count, amount=each) for each, count in units if each or count
            ),
            discounts=tuple(per_line[index]),
        )
        for index, (line, discount, units) in enumerate(
            zip(
                cart.lines, evaluation.line_discount_amounts, evaluation.unit_discounts, strict=True
            )
        )
    )
    return Validation(
        valid=evaluation.is_valid,
        currency=cart.currency,
        customer_id=customer_id,
        subtotal_amount=evaluation.subtotal_amount,
        discount_amount=evaluation.discount_amount,
        shipping_amount=evaluation.shipping_amount,
        shipping_discount_amount=evaluation.shipping_discount_amount,
        total_amount=evaluation.total_amount,
        cashback_amount=evaluation.cashback_amount,
        codes=tuple(codes),
        applied=tuple(applied),
        skipped=tuple(_skipped(refusal, cart.currency, locale) for refusal in evaluation.skipped),
        lines=lines,
    )


def _skipped(refusal: Refusal, currency: str, locale: str | None) -> SkippedPromotion:
    promotion = refusal.promotion
    assert promotion is not None, "only promotions that exist are skipped"
    return SkippedPromotion(
        campaign_id=promotion.campaign_id,
        campaign_name=promotion.name,
        code=refusal.code,
        reason=refusal.reason,
        message=_message(refusal, currency, locale),
        shortfall=refusal.shortfall,
    )
