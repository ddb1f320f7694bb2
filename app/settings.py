"""One typed settings object, read from the environment once and validated at start-up."""

from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.domain.guesses import GuessLimits


class DatabaseSettings(BaseModel, frozen=True):
    # Connections per worker. Overflow connections are closed when handed back, and opening one
    # (connect, type set-up, re-preparing statements) cost validate a third of its throughput
    # at 64 clients; a fixed pool makes the extra requests wait for a connection instead.
    pool_size: int = Field(default=20, ge=1, le=200)
    max_overflow: int = Field(default=0, ge=0, le=200)
    # PostgreSQL cancels a statement running longer (the request answers 503).
    statement_timeout_ms: int = Field(default=2_000, ge=100)
    # Client-side deadlines, so a database that stops answering costs a request seconds, not
    # minutes: opening a connection, waiting for a free pooled one, and each round trip. A
    # round trip's deadline sits a little above statement_timeout_ms, so that a slow statement
    # is normally cancelled by the server (the connection stays usable) and the client's own
    # deadline fires only when the server does not answer at all.
    connect_timeout_ms: int = Field(default=2_000, ge=100)
    pool_timeout_ms: int = Field(default=2_000, ge=0)
    command_timeout_ms: int = Field(default=2_500, ge=100)
    # /readyz answers within this, whatever the database does.
    ready_timeout_ms: int = Field(default=1_500, ge=100)
    # Prepared statements each connection keeps (asyncpg's and SQLAlchemy's caches). With
    # pooler=pgbouncer both caches are off, whatever this says.
    statement_cache_size: int = Field(default=100, ge=0)
    # What sits between the service and PostgreSQL. "none": connections are the server's own
    # sessions, and the settings below travel as startup parameters. "pgbouncer": a pooler in
    # transaction mode (README, "Scaling out"): no startup parameters but the application
    # name, no statement prepared under a name (db/engine.py), and the session settings come
    # from role defaults (`python -m app.db.session_defaults`), which /readyz checks.
    pooler: Literal["none", "pgbouncer"] = "none"
    # How the service's sessions are named in pg_stat_activity (say, tessera-worker).
    application_name: str = Field(default="tessera", pattern=r"^[\x21-\x7e]{1,63}$")


class JobSettings(BaseModel, frozen=True):
    """The worker's durable jobs (app/services/jobs.py)."""

    # A running job's claim lasts this long and is renewed at every step; a worker that dies
    # (killed, crashed, its host lost) leaves a claim that another worker takes over once it
    # has lapsed.
    lease_seconds: int = Field(default=60, ge=1, le=3_600)
    # How often an idle worker looks for a due job.
    poll_seconds: float = Field(default=1.0, gt=0, le=60)
    # A job that failed this many times in a row stays failed.
    max_attempts: int = Field(default=5, ge=1, le=100)


class ApiSettings(BaseModel, frozen=True):
    max_body_bytes: int = Field(default=1_048_576, ge=1_024)


class LimitSettings(BaseModel, frozen=True):
    # Codes and automatic promotions that may discount one order together.
    max_discounts_per_order: int = Field(default=5, ge=1, le=50)


class GuessSettings(BaseModel, frozen=True):
    """Failed code guesses (unknown codes, codes bound to someone else) allowed per fixed
    window (domain/guesses.py has the threat model). Past the customer's or the client
    address's allowance, their requests with codes get 429 until the window ends. Requests that
    send no `client_ip` share one allowance per key. The key's own count only raises an alarm
    (a log line and a metric): blocking the key would stop every shopper."""

    per_customer: int = Field(default=10, ge=1)
    per_address: int = Field(default=50, ge=1)
    per_key_unaddressed: int = Field(default=1_000, ge=1)
    key_alarm: int = Field(default=1_000, ge=1)
    window_seconds: int = Field(default=600, ge=1, le=86_400)

    def limits(self) -> GuessLimits:
        return GuessLimits(
            per_customer=self.per_customer,
            per_address=self.per_address,
            per_key_unaddressed=self.per_key_unaddressed,
            key_alarm=self.key_alarm,
        )


class WalletSettings(BaseModel, frozen=True):
    # Cashback credited at redeem becomes spendable after the return window.
    pending_days: int = Field(default=14, ge=0, le=365)


class HoldSettings(BaseModel, frozen=True):
    # How long a hold keeps what it took unless the request says (TESSERA_HOLDS__...).
    default_seconds: int = Field(default=900, ge=1)
    # The longest a request may ask for.
    max_seconds: int = Field(default=3_600, ge=1, le=7 * 86_400)


class LogSettings(BaseSettings):
    """How the process logs: all that `python -m app.serve` and `alembic` need before (or
    without) the rest of the settings, so neither requires DATABASE_URL to set up logging."""

    model_config = SettingsConfigDict(env_prefix="TESSERA_", frozen=True, extra="ignore")

    log_level: str = Field(default="info", pattern="^(?i)(debug|info|warning|error)$")
    # json: one JSON object per line (UTC timestamps to the millisecond, the request id);
    # console: one readable line per record, for a terminal (`make run`).
    log_format: Literal["json", "console"] = "json"


class Settings(LogSettings):
    model_config = SettingsConfigDict(
        env_prefix="TESSERA_", env_nested_delimiter="__", frozen=True, extra="ignore"
    )

    database_url: str = Field(  # type: ignore[pydantic-alias]  # DATABASE_URL, by convention
        validation_alias=AliasChoices("DATABASE_URL", "TESSERA_DATABASE_URL")
    )
    # A read-only replica of the database (streaming replication), or None. Reads that may lag
    # a little (validate, qualifications, balances, listings) go there; every write and every
    # read a write depends on stays on DATABASE_URL.
    read_database_url: str | None = None
    bootstrap_admin_key: SecretStr | None = None
    db: DatabaseSettings = DatabaseSettings()
    api: ApiSettings = ApiSettings()
    limits: LimitSettings = LimitSettings()
    guesses: GuessSettings = GuessSettings()
    wallets: WalletSettings = WalletSettings()
    holds: HoldSettings = HoldSettings()
    jobs: JobSettings = JobSettings()

    @field_validator("database_url", "read_database_url")
    @classmethod
    def _use_asyncpg(cls, url: str | None) -> str | None:
        """Accept the usual postgres:// and postgresql:// URLs and drive them with asyncpg."""
        if url is None:
            return None
        for prefix in ("postgres://", "postgresql://", "postgresql+asyncpg://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url.removeprefix(prefix)
        raise ValueError("DATABASE_URL must be a postgresql:// URL")


@lru_cache
def get_settings() -> Settings:
    return Settings()
