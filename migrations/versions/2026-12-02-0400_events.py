"""Events: a transactional outbox. Triggers write an event row in the same transaction as
every change that matters outside (redemptions and holds, returns, codes issued or claimed,
campaigns paused or resumed, budgets exhausted, every ledger entry), so there is no change
without its event and no event without its change, whichever path wrote it (one statement or
a transaction). Each event records its transaction's id (`txid`); the feed lists events in
(txid, id) order and only those whose transaction is older than every transaction still
running, so a reader that keeps its last cursor never misses one that commits late.
Webhook endpoints and their deliveries are kept here too (app/services/webhooks.py).

Revision ID: 9e4b7c2d5a18
Revises: 7d2f9a4c1e63
Create Date: 2026-12-02 04:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "9e4b7c2d5a18"
down_revision: str | None = "7d2f9a4c1e63"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATEMENTS = [
    r"""
CREATE FUNCTION tessera_redemption_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kind text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        kind := CASE NEW.status WHEN 'held' THEN 'hold.placed' ELSE 'redemption.created' END;
    ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
        kind := CASE
            WHEN OLD.status = 'held' AND NEW.status = 'succeeded' THEN 'hold.redeemed'
            WHEN NEW.status = 'released' THEN 'hold.released'
            WHEN NEW.status = 'expired' THEN 'hold.expired'
            WHEN NEW.status = 'rolled_back' THEN 'redemption.rolled_back'
        END;
    ELSIF NEW.returned_quantities IS DISTINCT FROM OLD.returned_quantities THEN
        kind := 'redemption.returned';
    END IF;
    IF kind IS NOT NULL THEN
        INSERT INTO events (type, subject_id, payload) VALUES (kind, NEW.id, jsonb_build_object(
            'redemption_id', NEW.id,
            'status', NEW.status,
            'order_id', NEW.order_id,
            'customer_id', NEW.customer_id,
            'currency', NEW.currency,
            'subtotal_amount', NEW.subtotal_amount,
            'discount_amount', NEW.discount_amount,
            'shipping_discount_amount', NEW.shipping_discount_amount,
            'total_amount', NEW.total_amount,
            'cashback_amount', NEW.cashback_amount,
            'promotions', coalesce((
                SELECT jsonb_agg(jsonb_build_object(
                    'campaign_id', a->'campaign_id', 'code', a->'code',
                    'discount_amount', a->'discount_amount'))
                FROM jsonb_array_elements(NEW.result->'applied') AS a
            ), '[]'::jsonb),
            'expires_at', NEW.expires_at
        ));
    END IF;
    RETURN NULL;
END
$$
""",
    r"""
CREATE FUNCTION tessera_code_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (type, subject_id, payload) VALUES (
        CASE WHEN TG_OP = 'INSERT' THEN 'code.issued' ELSE 'code.claimed' END,
        NEW.id,
        jsonb_build_object(
            'code_id', NEW.id, 'campaign_id', NEW.campaign_id, 'source', NEW.source,
            'customer_id', NEW.customer_id, 'expires_at', NEW.expires_at
        )
    );
    RETURN NULL;
END
$$
""",
    r"""
CREATE FUNCTION tessera_campaign_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (type, subject_id, payload) VALUES (
        CASE NEW.status WHEN 'paused' THEN 'campaign.paused' ELSE 'campaign.resumed' END,
        NEW.id,
        jsonb_build_object('campaign_id', NEW.id, 'name', NEW.name, 'status', NEW.status)
    );
    RETURN NULL;
END
$$
""",
    r"""
CREATE FUNCTION tessera_budget_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (type, subject_id, payload) VALUES (
        'campaign.budget_exhausted',
        NEW.campaign_id,
        jsonb_build_object(
            'campaign_id', NEW.campaign_id, 'unit', NEW.unit, 'cap', NEW.cap, 'used', NEW.used
        )
    );
    RETURN NULL;
END
$$
""",
    r"""
CREATE FUNCTION tessera_ledger_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    account record;
BEGIN
    SELECT kind, program_id, customer_id, currency INTO account
    FROM balance_accounts WHERE id = NEW.account_id;
    INSERT INTO events (type, subject_id, payload) VALUES (
        account.kind || '.' || CASE NEW.kind
            WHEN 'earn' THEN 'earned' WHEN 'spend' THEN 'spent' WHEN 'expire' THEN 'expired'
            WHEN 'adjust' THEN 'adjusted' WHEN 'reverse' THEN 'reversed'
            WHEN 'issue' THEN 'issued' WHEN 'top_up' THEN 'topped_up'
            WHEN 'payment' THEN 'paid' WHEN 'refund' THEN 'refunded'
            WHEN 'cashback' THEN 'cashback_credited' ELSE NEW.kind
        END,
        NEW.account_id,
        jsonb_build_object(
            'entry_id', NEW.id, 'account_id', NEW.account_id, 'program_id', account.program_id,
            'customer_id', account.customer_id, 'currency', account.currency,
            'amount', NEW.amount, 'order_id', NEW.order_id, 'redemption_id', NEW.redemption_id,
            'reward_id', NEW.reward_id, 'code_id', NEW.code_id, 'reason', NEW.reason
        )
    );
    RETURN NULL;
END
$$
""",
    r"""
CREATE TRIGGER redemption_events AFTER INSERT OR UPDATE ON redemptions
    FOR EACH ROW EXECUTE FUNCTION tessera_redemption_events()
""",
    r"""
CREATE TRIGGER code_issued_events AFTER INSERT ON codes
    FOR EACH ROW WHEN (NEW.source IN ('support', 'reward'))
    EXECUTE FUNCTION tessera_code_events()
""",
    r"""
CREATE TRIGGER code_claimed_events AFTER UPDATE OF customer_id ON codes
    FOR EACH ROW
    WHEN (OLD.customer_id IS NULL AND NEW.customer_id IS NOT NULL
          AND NEW.source IN ('generated', 'imported'))
    EXECUTE FUNCTION tessera_code_events()
""",
    r"""
CREATE TRIGGER campaign_status_events AFTER UPDATE OF status ON campaigns
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION tessera_campaign_events()
""",
    r"""
CREATE TRIGGER budget_exhausted_events AFTER UPDATE OF used ON campaign_budgets
    FOR EACH ROW WHEN (OLD.used < OLD.cap AND NEW.used >= NEW.cap)
    EXECUTE FUNCTION tessera_budget_events()
""",
    r"""
CREATE TRIGGER ledger_events AFTER INSERT ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION tessera_ledger_events()
""",
]

_DROP = [
    "DROP TRIGGER ledger_events ON ledger_entries",
    "DROP TRIGGER budget_exhausted_events ON campaign_budgets",
    "DROP TRIGGER campaign_status_events ON campaigns",
    "DROP TRIGGER code_claimed_events ON codes",
    "DROP TRIGGER code_issued_events ON codes",
    "DROP TRIGGER redemption_events ON redemptions",
    "DROP FUNCTION tessera_ledger_events()",
    "DROP FUNCTION tessera_budget_events()",
    "DROP FUNCTION tessera_campaign_events()",
    "DROP FUNCTION tessera_code_events()",
    "DROP FUNCTION tessera_redemption_events()",
]


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column(
            "txid",
            sa.BigInteger(),
            server_default=sa.text("(pg_current_xact_id()::text::bigint)"),
            nullable=False,
        ),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index("ix_events_txid_id", "events", ["txid", "id"])
    op.create_index("ix_events_created_at", "events", ["created_at"])
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("types", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column(
            "status", sa.String(length=16), server_default=sa.text("'active'"), nullable=False
        ),
        sa.Column("after_txid", sa.BigInteger(), nullable=False),
        sa.Column("after_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('active', 'disabled')", name=op.f("ck_webhook_endpoints_known_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("endpoint_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "status", sa.String(length=16), server_default=sa.text("'pending'"), nullable=False
        ),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')",
            name=op.f("ck_webhook_deliveries_known_status"),
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_webhook_deliveries_event_id_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "endpoint_id", "event_id", name=op.f("uq_webhook_deliveries_endpoint_id_event_id")
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_webhook_deliveries_endpoint_id_created_at",
        "webhook_deliveries",
        ["endpoint_id", "created_at", "id"],
    )
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for statement in _DROP:
        op.execute(statement)
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
    op.drop_table("events")
