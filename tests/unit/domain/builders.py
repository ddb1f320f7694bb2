"""Small builders for domain tests."""

from collections.abc import Mapping
from datetime import UTC, datetime
from uuid import UUID, uuid4

from app.domain.benefits import Effect
from app.domain.cart import Cart, CartLine
from app.domain.codes import normalise
from app.domain.conditions import Conditions, Target
from app.domain.context import EvaluationContext
from app.domain.engine import Evaluation, evaluate
from app.domain.rules import Promotion, Rules, Stacking, Usage

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def line(sku: str, quantity: int, price: int, *categories: str) -> CartLine:
    return CartLine(sku, quantity, price, frozenset(categories))


def cart(*lines: CartLine, currency: str = "EUR", shipping: int = 0) -> Cart:
    return Cart(currency, tuple(lines), shipping)


def promo(
    *effects: Effect,
    code: str | None = "CODE",
    target: Target | None = None,
    conditions: Conditions | None = None,
    priority: int = 0,
    exclusive: bool = False,
    line_exclusive: bool = False,
    usage: Usage | None = None,
    campaign_id: UUID | None = None,
    **fields: object,
) -> Promotion:
    return Promotion(
        campaign_id=campaign_id or uuid4(),
        name=code or "automatic",
        rules=Rules(
            effects=effects, target=target or Target(), conditions=conditions or Conditions()
        ),
        code_id=uuid4() if code is not None else None,
        code=code,
        stacking=Stacking(priority, exclusive, line_exclusive),
        usage=usage or Usage(),
        **fields,  # type: ignore[arg-type]
    )


def run(
    c: Cart,
    *promotions: Promotion,
    ctx: EvaluationContext | None = None,
    codes: list[str] | None = None,
    max_discounts: int = 5,
) -> Evaluation:
    """Evaluate: promotions with a code are requested (in the given order), the rest are
    automatic."""
    coded: Mapping[str, Promotion] = {normalise(p.code): p for p in promotions if p.code}
    automatic = [p for p in promotions if p.code is None]
    requested = codes if codes is not None else [p.code for p in promotions if p.code]
    return evaluate(
        c,
        requested,
        coded,
        ctx or EvaluationContext(now=NOW, customer_id="cus_1"),
        automatic,
        max_discounts,
    )
