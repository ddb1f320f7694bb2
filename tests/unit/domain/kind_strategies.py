"""A hypothesis strategy for every effect and condition kind (test_kinds.py fails for a kind
missing here), used by the engine's properties and the registry's round trips."""

from hypothesis import strategies as st

from app.domain.benefits import (
    AmountOff,
    AmountOffEach,
    Bundle,
    BuyXGetY,
    Cashback,
    Effect,
    FixedPrice,
    FreeGift,
    PercentOff,
    PercentOffEach,
    Pick,
    ShippingOff,
    ShippingPrice,
    Tier,
    Tiered,
    UnitCap,
)
from app.domain.conditions import CartCondition, CartContains, ShippingMethodIs, Target

SKUS = ["a", "b", "c", "d"]
CATEGORIES = ["x", "y"]
METHODS = ["standard", "express", "pickup"]

money = st.integers(1, 20_000)
eur = st.fixed_dictionaries({"EUR": money})
maybe_eur: st.SearchStrategy[dict[str, int]] = st.one_of(st.just({}), eur)
picks = st.sampled_from(list(Pick))
targets = st.builds(
    Target,
    skus=st.frozensets(st.sampled_from(SKUS), max_size=2),
    categories=st.frozensets(st.sampled_from(CATEGORIES), max_size=1),
    exclude_skus=st.frozensets(st.sampled_from(SKUS), max_size=1),
)
caps = st.one_of(
    st.just(UnitCap()),
    st.builds(
        UnitCap,
        max_units=st.none() | st.integers(1, 5),
        max_units_per_line=st.none() | st.integers(1, 3),
        pick=picks,
        group_size=st.none() | st.integers(2, 4),
    ),
)
methods = st.frozensets(st.sampled_from(METHODS), max_size=2)


@st.composite
def tiered(draw: st.DrawFn) -> Tiered:
    count = draw(st.integers(1, 3))
    steps = sorted(
        draw(st.lists(st.integers(1, 60_000), min_size=count, max_size=count, unique=True))
    )
    by_quantity = draw(st.booleans())
    tiers: list[Tier] = []
    for step in steps:
        quantity = max(step // 5_000, 1) + len(tiers) if by_quantity else None
        amounts = {} if by_quantity else {"EUR": step}
        if draw(st.booleans()):
            tiers.append(Tier(quantity, amounts, basis_points=draw(st.integers(1, 10_000))))
        else:
            tiers.append(Tier(quantity, amounts, amounts=draw(eur)))
    return Tiered(tiers=tuple(tiers), max_amounts=draw(maybe_eur))


EFFECTS: dict[str, st.SearchStrategy[Effect]] = {
    "percent_off": st.builds(
        PercentOff,
        basis_points=st.integers(1, 10_000),
        max_amounts=maybe_eur,
        max_line_amounts=maybe_eur,
    ),
    "amount_off": st.builds(AmountOff, amounts=eur),
    "percent_off_each": st.builds(PercentOffEach, basis_points=st.integers(1, 10_000), cap=caps),
    "amount_off_each": st.builds(AmountOffEach, amounts=eur, cap=caps),
    "fixed_price": st.builds(
        FixedPrice, amounts=st.fixed_dictionaries({"EUR": st.integers(0, 20_000)}), cap=caps
    ),
    "buy_x_get_y": st.builds(
        BuyXGetY,
        buy_quantity=st.integers(1, 3),
        get_quantity=st.integers(1, 2),
        basis_points=st.integers(1, 10_000),
        get_target=st.none() | targets,
        max_applications=st.none() | st.integers(1, 3),
        pick=picks,
    ),
    "bundle": st.one_of(
        st.builds(
            Bundle,
            quantity=st.integers(2, 4),
            price_amounts=st.fixed_dictionaries({"EUR": st.integers(0, 60_000)}),
            max_applications=st.none() | st.integers(1, 3),
            pick=picks,
        ),
        st.builds(
            Bundle,
            quantity=st.integers(2, 4),
            amounts_off=eur,
            max_applications=st.none() | st.integers(1, 3),
            pick=picks,
        ),
    ),
    "tiered": tiered(),
    "free_gift": st.builds(FreeGift, sku=st.sampled_from(SKUS), quantity=st.integers(1, 3)),
    "shipping_off": st.one_of(
        st.builds(ShippingOff, basis_points=st.integers(1, 10_000), methods=methods),
        st.builds(ShippingOff, amounts=eur, max_amounts=maybe_eur, methods=methods),
    ),
    "shipping_price": st.builds(
        ShippingPrice,
        amounts=st.fixed_dictionaries({"EUR": st.integers(0, 2_000)}),
        methods=methods,
    ),
    "cashback": st.builds(Cashback, basis_points=st.integers(1, 10_000), max_amounts=maybe_eur),
}

CONDITIONS: dict[str, st.SearchStrategy[CartCondition]] = {
    "cart_contains": st.builds(
        CartContains,
        items=targets,
        min_quantity=st.none() | st.integers(1, 4),
        min_subtotal_amounts=maybe_eur,
    ),
    "shipping_method": st.builds(
        ShippingMethodIs, methods=st.frozensets(st.sampled_from(METHODS), min_size=1, max_size=2)
    ),
}

effects: st.SearchStrategy[Effect] = st.one_of(*EFFECTS.values())
cart_conditions: st.SearchStrategy[CartCondition] = st.one_of(*CONDITIONS.values())
