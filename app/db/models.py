"""The schema, as typed SQLAlchemy models. Migrations are written from these and tested against
them; queries use the tables through the repositories only."""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSON, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy's declarative hook
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSONB,
        uuid.UUID: UUID(as_uuid=True),
    }


CODE_SOURCES = "('named', 'generated', 'imported', 'support', 'reward')"
POOL_SOURCES = "('generated', 'imported')"


def _id() -> Mapped[uuid.UUID]:
    return mapped_column(primary_key=True, server_default=func.gen_random_uuid())


def _created_at() -> Mapped[datetime]:
    return mapped_column(server_default=func.now())


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(
            "scopes <@ ARRAY['checkout', 'support', 'admin']::text[] AND cardinality(scopes) > 0",
            name="known_scopes",
        ),
    )

    id: Mapped[uuid.UUID] = _id()
    name: Mapped[str] = mapped_column(String(200))
    key_prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    created_at: Mapped[datetime] = _created_at()
    revoked_at: Mapped[datetime | None]


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'paused')", name="known_status"),
        CheckConstraint("trigger IN ('code', 'automatic')", name="known_trigger"),
        CheckConstraint("kind IN ('standard', 'support', 'reward', 'referral')", name="known_kind"),
        CheckConstraint(
            "exclusive_conflict IN ('priority', 'refuse')", name="known_exclusive_conflict"
        ),
        CheckConstraint("per_customer_limit > 0", name="per_customer_limit_positive"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("over_budget IN ('refuse', 'reduce')", name="known_over_budget"),
        Index("ix_campaigns_created_at_id", "created_at", "id"),
        # The marketers' list without the per-ticket support campaigns, in creation order.
        Index("ix_campaigns_kind_created_at_id", "kind", "created_at", "id"),
        # The live advertised campaigns, whose codes every qualification offers.
        Index(
            "ix_campaigns_advertised",
            "id",
            postgresql_where=text("advertised AND status = 'active'"),
        ),
        # Every validate reads the live automatic promotions; this keeps that a small scan.
        Index(
            "ix_campaigns_automatic_active",
            "priority",
            postgresql_where=text("trigger = 'automatic' AND status = 'active'"),
        ),
    )

    id: Mapped[uuid.UUID] = _id()
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'active'"))
    trigger: Mapped[str] = mapped_column(String(16), server_default=text("'code'"))
    # 'support': made for one apology code a support agent issued; 'reward': the codes a
    # loyalty reward hands out.
    kind: Mapped[str] = mapped_column(String(16), server_default=text("'standard'"))
    # What a discount that would cross a money budget does: 'refuse' it, or 'reduce' it to
    # what is left.
    over_budget: Mapped[str] = mapped_column(String(16), server_default=text("'refuse'"))
    # Whether its holds may still be redeemed while it is paused.
    honour_holds: Mapped[bool] = mapped_column(server_default=text("true"))
    # Whether its public named codes are offered to every shopper (POST /v1/qualifications).
    advertised: Mapped[bool] = mapped_column(server_default=text("false"))
    # Effects, target and conditions (validated on the way in; see db/mappers.py).
    rules: Mapped[dict[str, Any]]
    priority: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    is_exclusive: Mapped[bool] = mapped_column(server_default=text("false"))
    is_line_exclusive: Mapped[bool] = mapped_column(server_default=text("false"))
    # What an exclusive campaign does when another would also apply: 'priority' or 'refuse'.
    exclusive_conflict: Mapped[str] = mapped_column(String(16), server_default=text("'priority'"))
    # Of the campaigns sharing a best_of group, only the one giving the most applies.
    best_of: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    per_customer_limit: Mapped[int | None] = mapped_column(Integer)
    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, server_default=text("'{}'::jsonb")
    )
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()


class Code(Base):
    __tablename__ = "codes"
    __table_args__ = (
        CheckConstraint("max_redemptions > 0", name="max_redemptions_positive"),
        CheckConstraint("per_customer_limit > 0", name="per_customer_limit_positive"),
        CheckConstraint(f"source IN {CODE_SOURCES}", name="known_source"),
        CheckConstraint(
            "used IS NULL OR (used >= 0 AND (max_redemptions IS NULL OR used <= max_redemptions))",
            name="used_within_limit",
        ),
        Index("ix_codes_campaign_id_created_at_id", "campaign_id", "created_at", "id"),
        # The pool codes a claim can still hand out: claimed ones leave the index.
        Index(
            "ix_codes_claimable",
            "campaign_id",
            postgresql_where=text(f"customer_id IS NULL AND source IN {POOL_SOURCES}"),
        ),
        # A customer's codes (support, claimed, reward and bound named codes).
        Index(
            "ix_codes_customer_id",
            "customer_id",
            postgresql_where=text("customer_id IS NOT NULL"),
        ),
        # A campaign's public named codes, without walking its pool.
        Index(
            "ix_codes_public",
            "campaign_id",
            postgresql_where=text("source = 'named' AND customer_id IS NULL"),
        ),
        # One pool code per customer and campaign: two racing claims for one customer cannot
        # both take a code.
        Index(
            "uq_codes_pool_customer",
            "campaign_id",
            "customer_id",
            unique=True,
            postgresql_where=text(f"customer_id IS NOT NULL AND source IN {POOL_SOURCES}"),
        ),
        # One personal code per referrer and referral campaign.
        Index(
            "uq_codes_referrer",
            "campaign_id",
            "referrer_id",
            unique=True,
            postgresql_where=text("referrer_id IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = _id()
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id"))
    code: Mapped[str] = mapped_column(String(64))
    normalised_code: Mapped[str] = mapped_column(String(64), unique=True)
    max_redemptions: Mapped[int | None] = mapped_column(Integer)
    per_customer_limit: Mapped[int | None] = mapped_column(Integer)
    customer_id: Mapped[str | None] = mapped_column(String(200))
    expires_at: Mapped[datetime | None]
    # 'named' (created one by one), 'generated' or 'imported' (pool codes, claimable), or
    # 'support' (an apology code).
    source: Mapped[str] = mapped_column(String(16), server_default=text("'named'"))
    # When a claim handed the code to customer_id.
    assigned_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = _created_at()
    # Uses taken, counted on the code's own row: codes one customer uses (pool, support and
    # reward codes), which never see a crowd. NULL: counted in code_counters instead (named
    # codes, which may be redeemed by thousands at once).
    used: Mapped[int | None] = mapped_column(Integer)
    # When the code was switched off on its own (its campaign may still run); NULL: enabled.
    disabled_at: Mapped[datetime | None]
    # A referrer's personal code: whose it is (they may not use it), and the SHA-256 of their
    # normalised e-mail, when given (nor may a customer with that e-mail).
    referrer_id: Mapped[str | None] = mapped_column(String(200))
    referrer_email_key: Mapped[str | None] = mapped_column(String(64))


class CampaignBudget(Base):
    """What a campaign may consume in all, in one unit: 'redemptions', or a currency code for
    the amount its discounts take off orders (line and shipping discounts) in that currency.
    Redeem adds to `used` by a guarded UPDATE in its own statement; the CHECK is the last line
    of defence."""

    __tablename__ = "campaign_budgets"
    __table_args__ = (
        CheckConstraint("cap > 0", name="cap_positive"),
        CheckConstraint("used >= 0 AND used <= cap", name="used_within_cap"),
        CheckConstraint("unit = 'redemptions' OR unit ~ '^[A-Z]{3}$'", name="known_unit"),
    )

    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    unit: Mapped[str] = mapped_column(String(16), primary_key=True)
    cap: Mapped[int] = mapped_column(BigInteger)
    used: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class PeriodUse(Base):
    """How often a campaign, one of its codes or one customer redeemed in one period (a day,
    week or month starting at a local date of the campaign's time zone): domain/periods.py.
    Redeem adds one by a guarded upsert in its own statement."""

    __tablename__ = "period_uses"
    __table_args__ = (
        CheckConstraint("used >= 0", name="used_not_negative"),
        CheckConstraint("per IN ('campaign', 'code', 'customer')", name="known_per"),
        CheckConstraint("period IN ('day', 'week', 'month')", name="known_period"),
    )

    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    per: Mapped[str] = mapped_column(String(16), primary_key=True)
    # '' for the campaign, the code's id, or the customer's id.
    subject: Mapped[str] = mapped_column(String(200), primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    starts: Mapped[date] = mapped_column(Date, primary_key=True)
    used: Mapped[int] = mapped_column(Integer)


class CodeCounter(Base):
    """One share of a code's uses. A code's limit is split over several counter rows whose
    capacities add up to it (or that are all unlimited), so concurrent redeems of one popular
    code lock different rows instead of queueing on one; the code's redemption count is the sum
    of `used`. See db/repositories/codes.py."""

    __tablename__ = "code_counters"
    __table_args__ = (
        # The last line of defence: a share can never pass its capacity, whatever the code does.
        CheckConstraint(
            "used >= 0 AND (capacity IS NULL OR used <= capacity)", name="used_within_capacity"
        ),
        CheckConstraint("capacity > 0", name="capacity_positive"),
    )

    code_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("codes.id", ondelete="CASCADE"), primary_key=True
    )
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    capacity: Mapped[int | None] = mapped_column(Integer)
    used: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class CustomerUsage(Base):
    """How often one customer has redeemed one code or codes of one campaign."""

    __tablename__ = "customer_usages"
    __table_args__ = (
        CheckConstraint("subject IN ('code', 'campaign')", name="known_subject"),
        CheckConstraint("redemption_count >= 0", name="redemption_count_not_negative"),
    )

    subject: Mapped[str] = mapped_column(String(16), primary_key=True)
    subject_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    redemption_count: Mapped[int] = mapped_column(Integer)


class Redemption(Base):
    __tablename__ = "redemptions"
    __table_args__ = (
        CheckConstraint(
            "status IN ('succeeded', 'rolled_back', 'held', 'released', 'expired')",
            name="known_status",
        ),
        # A hold (and what became of it) knows until when it held.
        CheckConstraint(
            "status NOT IN ('held', 'released', 'expired') OR expires_at IS NOT NULL",
            name="held_until",
        ),
        # The holds to let lapse, soonest first.
        Index(
            "ix_redemptions_held_expires_at",
            "expires_at",
            postgresql_where=text("status = 'held'"),
        ),
        CheckConstraint(
            "discount_amount >= 0 AND discount_amount <= subtotal_amount"
            " AND shipping_discount_amount >= 0 AND shipping_discount_amount <= shipping_amount"
            " AND total_amount = subtotal_amount - discount_amount"
            " + shipping_amount - shipping_discount_amount",
            name="amounts_consistent",
        ),
        CheckConstraint("cashback_amount >= 0", name="cashback_not_negative"),
        # All redemptions, a customer's and an order's, newest first.
        Index("ix_redemptions_created_at_id", "created_at", "id"),
        Index(
            "ix_redemptions_customer_id_created_at",
            "customer_id",
            "created_at",
            "id",
            postgresql_where=text("customer_id IS NOT NULL"),
        ),
        Index(
            "ix_redemptions_order_id_created_at",
            "order_id",
            "created_at",
            "id",
            postgresql_where=text("order_id IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = _id()
    api_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_keys.id"))
    customer_id: Mapped[str | None] = mapped_column(String(200))
    order_id: Mapped[str | None] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    subtotal_amount: Mapped[int] = mapped_column(BigInteger)
    discount_amount: Mapped[int] = mapped_column(BigInteger)
    shipping_amount: Mapped[int] = mapped_column(BigInteger)
    shipping_discount_amount: Mapped[int] = mapped_column(BigInteger)
    total_amount: Mapped[int] = mapped_column(BigInteger)
    cashback_amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), server_default=text("'succeeded'"))
    result: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = _created_at()
    rolled_back_at: Mapped[datetime | None]
    # A hold's end: until then what it took is held for it (NULL: redeemed directly).
    expires_at: Mapped[datetime | None]
    # The period counters it added one to: [campaign_id, per, subject, period, starts] each.
    period_takes: Mapped[dict[str, Any]] = mapped_column(server_default=text("'[]'::jsonb"))
    # The cart as redeemed, [sku, quantity, unit price, [categories]] per line (NULL: recorded
    # before partial returns existed), and how many of each line were returned (NULL: none).
    # While lines are returned, the amounts above are the order's as it stands.
    lines: Mapped[list[Any] | None] = mapped_column(JSONB)
    returned_quantities: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    # The cart's chosen shipping method, when it said (promotions may depend on it).
    shipping_method: Mapped[str | None] = mapped_column(Text)


class RedemptionItem(Base):
    """One code consumed by a redemption, and exactly which counters it moved."""

    __tablename__ = "redemption_items"
    __table_args__ = (
        CheckConstraint("discount_amount >= 0", name="discount_not_negative"),
        CheckConstraint("shipping_discount_amount >= 0", name="shipping_discount_not_negative"),
        CheckConstraint("cashback_amount >= 0", name="cashback_not_negative"),
        # A code's and a campaign's redemptions, newest first (the first also serves the
        # codes' foreign key).
        Index("ix_redemption_items_code_id_created_at", "code_id", "created_at", "redemption_id"),
        Index(
            "ix_redemption_items_campaign_id_created_at",
            "campaign_id",
            "created_at",
            "redemption_id",
        ),
    )

    redemption_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("redemptions.id"), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    # NULL for an automatic promotion.
    code_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("codes.id"))
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id"))
    discount_amount: Mapped[int] = mapped_column(BigInteger)
    shipping_discount_amount: Mapped[int] = mapped_column(BigInteger)
    cashback_amount: Mapped[int] = mapped_column(BigInteger)
    counted_code_customer: Mapped[bool]
    counted_campaign_customer: Mapped[bool]
    # What it added to its campaign's budgets, so that a rollback gives back exactly that:
    # the redemption (to 'redemptions'; its campaign's items all say so) and its discounts (to
    # the order's currency; NULL: that budget was not capped).
    budget_redemption: Mapped[bool] = mapped_column(server_default=text("false"))
    budget_amount: Mapped[int | None] = mapped_column(BigInteger)
    # The promotion as it applied (name, code, stacking, rules; db/mappers.py): what a
    # partial return applies again to what stays. NULL: recorded before returns existed.
    terms: Mapped[dict[str, Any] | None]
    # Its redemption's, for listing a code's or a campaign's redemptions in time order.
    created_at: Mapped[datetime] = _created_at()


class RedemptionReturn(Base):
    """Lines of a redeemed order returned, and what that gave back (its answer, as sent)."""

    __tablename__ = "redemption_returns"
    __table_args__ = (
        CheckConstraint("refund_amount >= 0", name="refund_not_negative"),
        Index("ix_redemption_returns_redemption_id_created_at", "redemption_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    redemption_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("redemptions.id"))
    api_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_keys.id"))
    refund_amount: Mapped[int] = mapped_column(BigInteger)
    result: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    # The purge finds expired keys by age.
    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)

    api_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_keys.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    response_status: Mapped[int | None] = mapped_column(SmallInteger)
    # json, not jsonb: kept as sent, keys in their order, so a retry gets the same bytes.
    response_body: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = _created_at()


class CodeJob(Base):
    """Bulk work on a campaign's pool (generating codes), done in batches after the request
    that asked for it returned; its row says how far it got."""

    __tablename__ = "code_jobs"
    __table_args__ = (
        CheckConstraint("kind IN ('generate')", name="known_kind"),
        CheckConstraint("status IN ('running', 'succeeded', 'failed')", name="known_status"),
        CheckConstraint("requested > 0 AND created >= 0 AND created <= requested", name="counts"),
        Index("ix_code_jobs_campaign_id_created_at", "campaign_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = _id()
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id"))
    api_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_keys.id"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'running'"))
    requested: Mapped[int] = mapped_column(Integer)
    created: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    spec: Mapped[dict[str, Any]]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()
    finished_at: Mapped[datetime | None]


class Job(Base):
    """Durable work for the workers (app/services/jobs.py): queued until run_at, then claimed
    with a lease (a token and an end); a running job whose lease lapsed lost its worker and is
    claimed again. Periodic jobs carry a dedupe_key naming their slot, so a slot is enqueued
    once however many workers tick."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed')", name="known_status"
        ),
        CheckConstraint(
            "status <> 'running' OR (lease_token IS NOT NULL AND lease_until IS NOT NULL)",
            name="running_has_lease",
        ),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        UniqueConstraint("dedupe_key"),
        # The claim reads only queued and running jobs, a handful beside the finished ones.
        Index(
            "ix_jobs_active_run_at",
            "run_at",
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
        # The purge finds finished jobs by age.
        Index("ix_jobs_finished_at", "finished_at"),
    )

    id: Mapped[uuid.UUID] = _id()
    kind: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'queued'"))
    run_at: Mapped[datetime] = _created_at()
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    lease_token: Mapped[uuid.UUID | None]
    lease_until: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()
    finished_at: Mapped[datetime | None]


class IssuingLimit(Base):
    """What one API key may hand out as support codes: per code, and per UTC day in total."""

    __tablename__ = "issuing_limits"
    __table_args__ = (
        CheckConstraint("max_code_amount > 0", name="max_code_amount_positive"),
        CheckConstraint(
            "max_code_basis_points BETWEEN 1 AND 10000", name="max_code_basis_points_range"
        ),
        CheckConstraint("daily_amount > 0", name="daily_amount_positive"),
    )

    api_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_keys.id"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    max_code_amount: Mapped[int] = mapped_column(BigInteger)
    max_code_basis_points: Mapped[int] = mapped_column(Integer)
    daily_amount: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = _created_at()


class IssuedTotal(Base):
    """The fixed amounts one key issued as support codes on one UTC day; raised by a guarded
    upsert, so the day's total never passes the key's daily_amount."""

    __tablename__ = "issued_totals"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_not_negative"),)

    api_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_keys.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger)


class AuditEvent(Base):
    """Who (which key) did what, when and why: one row per admin or support write, in the
    write's own transaction."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_at_id", "at", "id"),
        Index("ix_audit_events_customer_id_at", "customer_id", "at"),
        Index("ix_audit_events_api_key_id_at", "api_key_id", "at"),
        Index("ix_audit_events_campaign_id_at", "campaign_id", "at"),
    )

    id: Mapped[uuid.UUID] = _id()
    # The moment of the write, not of its transaction's start: events of one transaction
    # keep their order.
    at: Mapped[datetime] = mapped_column(server_default=func.clock_timestamp())
    # NULL for the service itself (the bootstrap admin key).
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_keys.id"))
    action: Mapped[str] = mapped_column(String(64))
    campaign_id: Mapped[uuid.UUID | None]
    customer_id: Mapped[str | None] = mapped_column(String(200))
    subject_id: Mapped[uuid.UUID | None]
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))


class GuessFailure(Base):
    """Failed code guesses of one subject ('customer:<id>', 'address:<ip or /64>',
    'unaddressed:<key id>', or the alarm 'key:<id>') in its current fixed window;
    blocked_until is set when they reach the threshold."""

    __tablename__ = "guess_failures"
    __table_args__ = (
        CheckConstraint("failures >= 0", name="failures_not_negative"),
        # The purge finds windows that have ended by their start.
        Index("ix_guess_failures_window_start", "window_start"),
    )

    subject: Mapped[str] = mapped_column(String(220), primary_key=True)
    window_start: Mapped[datetime]
    failures: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[int] = mapped_column(Integer)
    blocked_until: Mapped[datetime | None]


class LoyaltyProgram(Base):
    __tablename__ = "loyalty_programs"
    __table_args__ = (
        CheckConstraint("earn_points >= 0 AND earn_per_amount > 0", name="earn_rate"),
        CheckConstraint("tier_basis IN ('lifetime', 'rolling_12_months')", name="known_tier_basis"),
        CheckConstraint("expiry_days > 0", name="expiry_days_positive"),
        CheckConstraint("pending_days >= 0", name="pending_days_not_negative"),
        CheckConstraint("status IN ('active', 'archived')", name="known_status"),
        Index("ix_loyalty_programs_created_at_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = _id()
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    earn_points: Mapped[int] = mapped_column(Integer)
    earn_per_amount: Mapped[int] = mapped_column(BigInteger)
    tier_basis: Mapped[str] = mapped_column(String(32))
    # [{"key", "label", "threshold", "multiplier_percent"}], thresholds rising from 0.
    tiers: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    expiry_days: Mapped[int | None] = mapped_column(Integer)
    pending_days: Mapped[int] = mapped_column(Integer)
    allow_negative_balance: Mapped[bool] = mapped_column(server_default=text("false"))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'active'"))
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()


class LoyaltyReward(Base):
    """Points turned into a code: each redemption makes a single-use code of the reward's own
    campaign (kind 'reward') bound to the member."""

    __tablename__ = "loyalty_rewards"
    __table_args__ = (
        CheckConstraint("points_cost > 0", name="points_cost_positive"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("min_subtotal > 0", name="min_subtotal_positive"),
        CheckConstraint("valid_days > 0", name="valid_days_positive"),
        CheckConstraint("status IN ('active', 'archived')", name="known_status"),
        Index("ix_loyalty_rewards_program_id", "program_id"),
    )

    id: Mapped[uuid.UUID] = _id()
    program_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loyalty_programs.id"))
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id"))
    name: Mapped[str] = mapped_column(String(200))
    points_cost: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    min_subtotal: Mapped[int | None] = mapped_column(BigInteger)
    valid_days: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), server_default=text("'active'"))
    created_at: Mapped[datetime] = _created_at()


class BalanceAccount(Base):
    """A balance kept as lots (domain/ledger.py): a member's points in one program, a gift card
    or a customer's cashback wallet. Every write to an account locks its row first, so writes
    to one balance happen one after another; `debt` is what a reversal could not take back from
    a program that allows negative balances, paid off by the next credits."""

    __tablename__ = "balance_accounts"
    __table_args__ = (
        CheckConstraint("kind IN ('points', 'gift_card', 'wallet')", name="known_kind"),
        CheckConstraint(
            "kind <> 'points' OR (program_id IS NOT NULL AND customer_id IS NOT NULL"
            " AND code IS NULL AND currency IS NULL)",
            name="points_shape",
        ),
        CheckConstraint(
            "kind = 'points' OR (program_id IS NULL AND code IS NOT NULL"
            " AND normalised_code IS NOT NULL AND currency IS NOT NULL)",
            name="balance_code_shape",
        ),
        CheckConstraint("kind <> 'wallet' OR customer_id IS NOT NULL", name="wallet_customer"),
        CheckConstraint("debt >= 0", name="debt_not_negative"),
        Index(
            "uq_balance_accounts_member",
            "program_id",
            "customer_id",
            unique=True,
            postgresql_where=text("kind = 'points'"),
        ),
        Index(
            "uq_balance_accounts_wallet",
            "customer_id",
            "currency",
            unique=True,
            postgresql_where=text("kind = 'wallet'"),
        ),
    )

    id: Mapped[uuid.UUID] = _id()
    kind: Mapped[str] = mapped_column(String(16))
    program_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("loyalty_programs.id"))
    customer_id: Mapped[str | None] = mapped_column(String(200))
    currency: Mapped[str | None] = mapped_column(String(3))
    code: Mapped[str | None] = mapped_column(String(64))
    normalised_code: Mapped[str | None] = mapped_column(String(64), unique=True)
    debt: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = _created_at()


class LedgerEntry(Base):
    """Append-only: one row per change to a balance, signed (credits positive)."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('earn', 'spend', 'expire', 'adjust', 'reverse', 'issue', 'top_up',"
            " 'payment', 'refund', 'cashback')",
            name="known_kind",
        ),
        Index("ix_ledger_entries_account_id_created_at_id", "account_id", "created_at", "id"),
        Index("ix_ledger_entries_redemption_id", "redemption_id"),
        # The reward codes' spends: what keeps a code from being deleted (and its foreign key
        # check) is then a lookup, not a scan of the ledger.
        Index("ix_ledger_entries_code_id", "code_id", postgresql_where=text("code_id IS NOT NULL")),
        # An order earns once per program.
        Index(
            "uq_ledger_entries_earned_order",
            "account_id",
            "order_id",
            unique=True,
            postgresql_where=text("kind = 'earn'"),
        ),
        Index("ix_ledger_entries_order_id", "order_id", postgresql_where=text("kind = 'earn'")),
    )

    id: Mapped[uuid.UUID] = _id()
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("balance_accounts.id"))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    order_id: Mapped[str | None] = mapped_column(String(200))
    redemption_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("redemptions.id"))
    reward_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("loyalty_rewards.id"))
    code_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("codes.id"))
    # NULL when the checkout's own flow wrote it without a key to name (never, today) or the
    # service did (expiry).
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_keys.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    # The moment of the write: entries of one transaction keep their order.
    created_at: Mapped[datetime] = mapped_column(server_default=func.clock_timestamp())


class LedgerLot(Base):
    """One credit and what is left of it."""

    __tablename__ = "ledger_lots"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        # The last line of defence: a lot can never be overdrawn or refilled past its amount.
        CheckConstraint("remaining >= 0 AND remaining <= amount", name="remaining_within_amount"),
        CheckConstraint(
            "taken_back >= 0 AND taken_back <= amount", name="taken_back_within_amount"
        ),
        Index("ix_ledger_lots_account_id", "account_id"),
        Index("ix_ledger_lots_entry_id", "entry_id"),
        Index(
            "ix_ledger_lots_expiring",
            "expires_at",
            postgresql_where=text("remaining > 0 AND expires_at IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = _id()
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("balance_accounts.id"))
    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_entries.id"))
    # 'earn' lots count towards tiers (until reversed).
    source: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    available_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    reversed_at: Mapped[datetime | None]
    # What partial returns took back of its credit so far (the whole of it: reversed_at).
    taken_back: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    # When its coming expiry was announced (a points.expiring event), so it is announced once.
    expiry_noticed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class LedgerAllocation(Base):
    """How much one entry took from one lot (a spend, payment, expiry or reversal), or put back
    into it (a refund): so a refund can put back exactly what a payment took, where it took it."""

    __tablename__ = "ledger_allocations"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_ledger_allocations_lot_id", "lot_id"),
    )

    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_entries.id"), primary_key=True)
    lot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_lots.id"), primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger)


class VerdictLog(Base):
    """A refused code of a validate, redeem or hold that named a customer: what support sees
    when a customer says a code did not work. A log (no foreign keys), purged after 30 days."""

    __tablename__ = "verdict_log"
    __table_args__ = (
        CheckConstraint("source IN ('validate', 'redeem', 'hold')", name="known_source"),
        Index("ix_verdict_log_customer_id_at_id", "customer_id", "at", "id"),
        # The purge finds old entries by age.
        Index("ix_verdict_log_at", "at"),
    )

    id: Mapped[uuid.UUID] = _id()
    customer_id: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(8))
    # As typed (it may match no code).
    code: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(40))
    campaign_id: Mapped[uuid.UUID | None]
    api_key_id: Mapped[uuid.UUID]


class Event(Base):
    """One change that matters outside, written by a trigger in the change's own transaction
    (migration 9e4b7c2d5a18). `txid` is that transaction's id: the feed lists events in
    (txid, id) order, once every older transaction has ended (db/repositories/events.py)."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_txid_id", "txid", "id"),
        Index("ix_events_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    txid: Mapped[int] = mapped_column(
        BigInteger, server_default=text("(pg_current_xact_id()::text::bigint)")
    )
    type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[uuid.UUID | None]
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class WebhookEndpoint(Base):
    """Where events of some types are sent, signed with the secret; after_txid and after_id
    are how far into the feed its deliveries were made."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (CheckConstraint("status IN ('active', 'disabled')", name="known_status"),)

    id: Mapped[uuid.UUID] = _id()
    # Text: the URL as stored (percent-encoded) may be longer than the 2,000 characters sent.
    url: Mapped[str] = mapped_column(Text)
    types: Mapped[list[str]] = mapped_column(ARRAY(Text))
    secret: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'active'"))
    after_txid: Mapped[int] = mapped_column(BigInteger)
    after_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = _created_at()


class WebhookDelivery(Base):
    """One event to one endpoint: pending until its receiver answers 2xx, tried again with
    backoff, failed after the last attempt (and then replayable)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="known_status"),
        UniqueConstraint("endpoint_id", "event_id"),
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_webhook_deliveries_endpoint_id_created_at", "endpoint_id", "created_at", "id"),
        # The purge deletes an event's deliveries (and its foreign key looks them up).
        Index("ix_webhook_deliveries_event_id", "event_id"),
    )

    id: Mapped[uuid.UUID] = _id()
    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_endpoints.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # Raised by every claim and replay, never reset: an attempt records its outcome only if
    # the delivery is still its claim's.
    claims: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime]
    last_attempt_at: Mapped[datetime | None]
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = _created_at()


class ReferralProgram(Base):
    """A referral campaign's rules for the advocate: what they get (points in a program,
    wallet credit, or a code bound to them), how long after the friend's order, and how many
    per period."""

    __tablename__ = "referral_programs"
    __table_args__ = (
        CheckConstraint(
            "(advocate_points > 0 AND advocate_program_id IS NOT NULL"
            " AND advocate_amount IS NULL AND advocate_currency IS NULL"
            " AND advocate_campaign_id IS NULL)"
            " OR (advocate_amount > 0 AND advocate_currency IS NOT NULL"
            " AND advocate_points IS NULL AND advocate_program_id IS NULL"
            " AND advocate_campaign_id IS NULL)"
            " OR (advocate_campaign_id IS NOT NULL AND advocate_code_days > 0"
            " AND advocate_points IS NULL AND advocate_program_id IS NULL"
            " AND advocate_amount IS NULL AND advocate_currency IS NULL)",
            name="one_advocate_reward",
        ),
        CheckConstraint(
            "(max_rewards IS NULL AND max_rewards_period IS NULL)"
            " OR (max_rewards > 0 AND max_rewards_period IN ('day', 'week', 'month'))",
            name="known_limit",
        ),
        CheckConstraint("window_days >= 0", name="window"),
        UniqueConstraint("campaign_id"),
    )

    id: Mapped[uuid.UUID] = _id()
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id"))
    window_days: Mapped[int] = mapped_column(Integer)
    advocate_points: Mapped[int | None] = mapped_column(BigInteger)
    advocate_program_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("loyalty_programs.id"))
    advocate_amount: Mapped[int | None] = mapped_column(BigInteger)
    advocate_currency: Mapped[str | None] = mapped_column(String(3))
    # Or a single-use code of this campaign, bound to the referrer, valid so many days.
    advocate_campaign_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("campaigns.id"))
    advocate_code_days: Mapped[int | None] = mapped_column(Integer)
    max_rewards: Mapped[int | None] = mapped_column(Integer)
    max_rewards_period: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = _created_at()


class Referral(Base):
    """A friend's order with a referrer's code, on its way to rewarding the referrer once its
    window has passed (pending), and what came of it."""

    __tablename__ = "referrals"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'rewarded', 'cancelled', 'refused')", name="known_status"
        ),
        UniqueConstraint("redemption_id"),
        Index("ix_referrals_due", "due_at", postgresql_where=text("status = 'pending'")),
        Index(
            "ix_referrals_program_id_referrer_id_settled_at",
            "program_id",
            "referrer_id",
            "settled_at",
        ),
    )

    id: Mapped[uuid.UUID] = _id()
    program_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("referral_programs.id"))
    code_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("codes.id"))
    referrer_id: Mapped[str] = mapped_column(String(200))
    referee_id: Mapped[str] = mapped_column(String(200))
    redemption_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("redemptions.id"))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    due_at: Mapped[datetime]
    settled_at: Mapped[datetime | None]
    reward_entry_id: Mapped[uuid.UUID | None]
    # The code it gave the referrer (a code reward).
    reward_code_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("codes.id"))
    created_at: Mapped[datetime] = _created_at()


class FeedCursor(Base):
    """How far a reader inside the service (the referral settlement) has read the feed."""

    __tablename__ = "feed_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    txid: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[int] = mapped_column(BigInteger)
