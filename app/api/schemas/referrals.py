"""Referral programs, referrers' codes and referrals."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from app.api.schemas.common import (
    FROM_JSON_STRING,
    JSON_INTEGER,
    CurrencyCode,
    CustomerId,
    Email,
    Limit,
    Name,
    PositiveAmount,
    RequestModel,
)
from app.api.schemas.examples import example
from app.api.schemas.rules import ConditionsSpec, Effects, TargetSpec


class PointsReward(RequestModel):
    points: Annotated[int, Field(ge=1, le=10**9), JSON_INTEGER]
    program_id: Annotated[UUID, FROM_JSON_STRING] = Field(description="The loyalty program")


class WalletReward(RequestModel):
    amount: PositiveAmount = Field(description="Credited to the referrer's wallet")
    currency: CurrencyCode


class CodeReward(RequestModel):
    campaign_id: Annotated[UUID, FROM_JSON_STRING] = Field(
        description="A single-use code of this campaign, bound to the referrer"
    )
    expires_in_days: Annotated[int, Field(ge=1, le=3_650), JSON_INTEGER] = 90


class MaxRewards(RequestModel):
    limit: Limit
    period: Literal["day", "week", "month"] = Field(description="A calendar period in UTC")


class ReferralProgramCreate(RequestModel):
    model_config = example("ReferralProgramCreate")

    name: Name
    effects: Effects = Field(description="The friend reward, given through referrers' codes")
    target: TargetSpec = Field(default_factory=TargetSpec)
    conditions: ConditionsSpec = Field(
        default_factory=ConditionsSpec,
        description="E.g. `first_order_only`; each customer gets the friend reward once",
    )
    advocate_reward: PointsReward | WalletReward | CodeReward = Field(
        description="What the referrer gets: points in a loyalty program, wallet credit, or "
        "a single-use code bound to them"
    )
    window_days: Annotated[int, Field(ge=0, le=365), JSON_INTEGER] = Field(
        default=14,
        description="How long the friend's order must stand (not rolled back or wholly "
        "returned) before the referrer is rewarded",
    )
    max_rewards: MaxRewards | None = Field(
        default=None, description="Rewards a referrer may get per period; more are refused"
    )


class AdvocateRewardView(BaseModel):
    points: int | None
    program_id: UUID | None
    amount: int | None
    currency: str | None
    campaign_id: UUID | None
    expires_in_days: int | None


class MaxRewardsView(BaseModel):
    limit: int
    period: str


class ReferralProgram(BaseModel):
    id: UUID
    campaign_id: UUID = Field(description="The friend reward's campaign (kind 'referral')")
    advocate_reward: AdvocateRewardView
    window_days: int
    max_rewards: MaxRewardsView | None
    created_at: datetime


class ReferrerCreate(RequestModel):
    model_config = example("ReferrerCreate")

    customer_id: CustomerId
    email: Email | None = Field(
        default=None,
        description="The referrer's e-mail: a checkout that sends the same one for another "
        "customer id is refused the code (`self_referral`); kept only as a hash",
    )


class ReferrerCode(BaseModel):
    program_id: UUID
    customer_id: str
    code: str = Field(description="Theirs to share; the same on every request")
    created_at: datetime


class Referral(BaseModel):
    id: UUID
    program_id: UUID
    referrer_id: str
    referee_id: str
    redemption_id: UUID
    status: Literal["pending", "rewarded", "cancelled", "refused"] = Field(
        description="'pending' until the window passes, then 'rewarded', or 'refused' "
        "(`reason`: limit_reached, program_archived, reward_failed or self_referral); "
        "'cancelled' (`reason`: rolled_back) when the order was rolled back or returned whole "
        "before it was rewarded"
    )
    reason: str | None
    due_at: datetime
    settled_at: datetime | None
    created_at: datetime


class ReferralList(BaseModel):
    data: list[Referral]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last")
