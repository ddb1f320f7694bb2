"""One realistic example per request body, published in the spec (Swagger UI pre-fills it and
client generators document it); a test validates each against its model."""

from collections.abc import Callable
from typing import Any

from pydantic import ConfigDict

CART = {
    "currency": "EUR",
    "shipping_amount": 495,
    "lines": [
        {"sku": "shirt", "quantity": 2, "unit_price_amount": 1999, "categories": ["apparel"]},
        {
            "sku": "gift-card-25",
            "quantity": 1,
            "unit_price_amount": 2500,
            "categories": ["gift_cards"],
        },
    ],
}

EXAMPLES: dict[str, dict[str, Any]] = {
    "ApiKeyCreate": {"name": "web checkout", "scopes": ["checkout"]},
    "IssuingLimitsSpec": {
        "currency": "EUR",
        "max_code_amount": 2000,
        "max_code_basis_points": 2000,
        "daily_amount": 10000,
    },
    "CampaignCreate": {
        "name": "Summer sale",
        "effects": [{"type": "percent_off", "basis_points": 1000, "max_amounts": {"EUR": 2000}}],
        "target": {"exclude_categories": ["gift_cards"]},
        "conditions": {"min_subtotal_amounts": {"EUR": 3000}},
        "per_customer_limit": 1,
        "ends_at": "2031-09-01T00:00:00+02:00",
        "metadata": {"channel": "newsletter"},
    },
    "CampaignUpdate": {"name": "Summer sale (extended)", "ends_at": "2031-09-15T00:00:00+02:00"},
    "BudgetSpec": {"max_redemptions": 1000, "max_discount": {"EUR": 500000}},
    "CodeCreate": {"code": "SUMMER10", "max_redemptions": 500},
    "CodeLookup": {"code": "summer10"},
    "CodeUpdate": {"max_redemptions": 1000, "expires_at": "2031-09-30T23:59:59+02:00"},
    "CodeGenerationCreate": {"count": 1000, "pattern": "WELCOME-****-****"},
    "ClaimCreate": {"customer_id": "cus_2001"},
    "ValidationRequest": {
        "codes": ["SUMMER10"],
        "customer": {"id": "cus_1042", "segments": ["newsletter"]},
        "market": "FR",
        "locale": "fr-FR",
        "client_ip": "203.0.113.7",
        "cart": CART,
    },
    "RedemptionCreate": {
        "codes": ["SUMMER10"],
        "customer": {"id": "cus_1042"},
        "order_id": "order-7731",
        "client_ip": "203.0.113.7",
        "cart": CART,
    },
    "QualificationRequest": {"customer": {"id": "cus_1042"}, "cart": CART},
    "HoldCreate": {
        "codes": ["SUMMER10"],
        "customer": {"id": "cus_1042"},
        "order_id": "order-7731",
        "client_ip": "203.0.113.7",
        "cart": CART,
        "hold_seconds": 600,
    },
    "WebhookEndpointCreate": {
        "url": "https://crm.example.com/hooks/tessera",
        "types": ["redemption.created", "redemption.rolled_back"],
    },
    "ExpiryNoticeRunCreate": {"within_days": 7},
    "ReferralProgramCreate": {
        "name": "Give 5, get 500 points",
        "effects": [{"type": "amount_off", "amounts": {"EUR": 500}}],
        "conditions": {"first_order_only": True},
        "advocate_reward": {"points": 500, "program_id": "0b9e7c1e-5c2b-4c57-9a3e-2f4f3f4b1a10"},
        "window_days": 14,
        "max_rewards": {"limit": 10, "period": "month"},
    },
    "ReferrerCreate": {"customer_id": "cus_1042", "email": "ann@example.com"},
    "ReturnCreate": {"lines": [{"sku": "shirt", "quantity": 1}]},
    "SupportCodeCreate": {
        "customer": {"email": "ann@example.com"},
        "amount_off": {"amount": 1000, "currency": "EUR"},
        "free_shipping": True,
        "reason": "Parcel arrived a week late (ticket 4711)",
    },
    "ProgramCreate": {
        "name": "Club",
        "currency": "EUR",
        "earn_rate": {"points": 2, "per_amount": 100},
        "tiers": [
            {"key": "member", "label": "Member", "threshold": 0},
            {"key": "gold", "label": "Gold", "threshold": 1000, "multiplier_percent": 300},
        ],
        "expiry_days": 365,
        "pending_days": 14,
    },
    "ProgramUpdate": {"name": "Club+", "expiry_days": 730},
    "RewardCreate": {
        "name": "5.00 off",
        "points_cost": 100,
        "amount_off": 500,
        "min_subtotal": 1000,
    },
    "RewardUpdate": {"status": "archived"},
    "EarnCreate": {
        "customer_id": "cus_1042",
        "order_id": "order-7740",
        "amount": 3998,
        "currency": "EUR",
    },
    "AdjustmentCreate": {"points": 150, "reason": "Welcome bonus"},
    "RewardRedemptionCreate": {"reward_id": "5f0c2a9e-7d1b-4c3e-9a8f-2b6d4e1c7a90"},
    "GiftCardCreate": {"currency": "EUR", "amount": 5000},
    "GiftCardLookup": {
        "code": "GC7K2M9QXW4R8TPB",
        "customer_id": "cus_1042",
        "client_ip": "203.0.113.7",
    },
    "TopUpCreate": {"amount": 1000, "currency": "EUR"},
}


def example(model_name: str, then: Callable[[dict[str, Any]], None] | None = None) -> ConfigDict:
    """The model_config that publishes the model's example (and makes the schema edit then)."""

    def extra(schema: dict[str, Any]) -> None:
        schema["examples"] = [EXAMPLES[model_name]]
        if then is not None:
            then(schema)

    return ConfigDict(json_schema_extra=extra)
