"""Typed helpers that create test data through the real services."""

from datetime import datetime
from typing import Any

from app.db.engine import SessionFactory
from app.db.uow import UnitOfWork
from app.domain.api_keys import Scope
from app.domain.benefits import Effect, PercentOff
from app.domain.campaigns import Campaign, Code, Trigger
from app.domain.conditions import Conditions, Target
from app.domain.rules import Rules, Stacking
from app.services import api_keys, campaigns
from app.services.campaigns import CampaignTerms, CodeTerms


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def cart(*lines: tuple[str, int, int], currency: str = "EUR") -> dict[str, Any]:
    """A cart body from (sku, quantity, unit_price_amount) triples."""
    return {
        "currency": currency,
        "lines": [
            {"sku": sku, "quantity": quantity, "unit_price_amount": price}
            for sku, quantity, price in lines
        ],
    }


class Factory:
    def __init__(self, sessionmaker: SessionFactory) -> None:
        self.sessionmaker = sessionmaker

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessionmaker)

    async def api_key(self, *scopes: Scope, name: str = "test key") -> str:
        """A new key's secret."""
        created = await api_keys.create_api_key(self.uow(), name, list(scopes), actor=None)
        return created.secret

    async def campaign(
        self,
        *effects: Effect,
        name: str = "Test campaign",
        trigger: Trigger = Trigger.CODE,
        target: Target | None = None,
        conditions: Conditions | None = None,
        stacking: Stacking | None = None,
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
        per_customer_limit: int | None = None,
    ) -> Campaign:
        """A campaign; 10 % off the order unless effects are given."""
        terms = CampaignTerms(
            name=name,
            rules=Rules(
                effects=effects or (PercentOff(basis_points=1000),),
                target=target or Target(),
                conditions=conditions or Conditions(),
            ),
            trigger=trigger,
            stacking=stacking or Stacking(),
            starts_at=starts_at,
            ends_at=ends_at,
            per_customer_limit=per_customer_limit,
        )
        return await campaigns.create_campaign(self.uow(), terms, actor=None)

    async def code(
        self,
        campaign: Campaign,
        code: str,
        *,
        max_redemptions: int | None = None,
        per_customer_limit: int | None = None,
        customer_id: str | None = None,
        expires_at: datetime | None = None,
    ) -> Code:
        terms = CodeTerms(
            code=code,
            max_redemptions=max_redemptions,
            per_customer_limit=per_customer_limit,
            customer_id=customer_id,
            expires_at=expires_at,
        )
        return await campaigns.create_code(self.uow(), campaign.id, terms, actor=None)
