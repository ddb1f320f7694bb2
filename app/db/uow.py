"""Units of work. UnitOfWork: one session, one transaction, repositories on it; nothing is
committed unless the use case calls commit(), and leaving the block any other way rolls back.
StatementUnitOfWork: one autocommit connection for the checkout's single-statement reads and
writes."""

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.engine import ConnectionFactory, Database
from app.db.errors import DATABASE_ERRORS
from app.db.repositories.api_keys import ApiKeyRepository
from app.db.repositories.audit import AuditRepository
from app.db.repositories.campaigns import CampaignRepository
from app.db.repositories.checkout_reads import CheckoutReads
from app.db.repositories.checkout_writes import CheckoutWrites
from app.db.repositories.codes import CodeRepository
from app.db.repositories.events import EventRepository
from app.db.repositories.guesses import GuessRepository
from app.db.repositories.idempotency import IdempotencyRepository
from app.db.repositories.jobs import JobRepository
from app.db.repositories.ledger import LedgerRepository
from app.db.repositories.loyalty import LoyaltyRepository
from app.db.repositories.pools import PoolRepository
from app.db.repositories.purges import PurgeRepository
from app.db.repositories.redemptions import RedemptionRepository
from app.db.repositories.referrals import ReferralRepository
from app.db.repositories.schema import SchemaRepository
from app.db.repositories.support import SupportRepository
from app.db.repositories.webhooks import WebhookRepository


class UnitOfWork:
    api_keys: ApiKeyRepository
    audit: AuditRepository
    campaigns: CampaignRepository
    codes: CodeRepository
    events: EventRepository
    webhooks: WebhookRepository
    guesses: GuessRepository
    idempotency: IdempotencyRepository
    jobs: JobRepository
    ledger: LedgerRepository
    loyalty: LoyaltyRepository
    pools: PoolRepository
    purges: PurgeRepository
    redemptions: RedemptionRepository
    referrals: ReferralRepository
    schema: SchemaRepository
    support: SupportRepository

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        assert self._session is not None, "use the unit of work inside 'async with'"
        return self._session

    async def __aenter__(self) -> Self:
        session = self._sessionmaker()
        self._session = session
        self.api_keys = ApiKeyRepository.from_session(session)
        self.audit = AuditRepository.from_session(session)
        self.campaigns = CampaignRepository.from_session(session)
        self.codes = CodeRepository.from_session(session)
        self.events = EventRepository.from_session(session)
        self.webhooks = WebhookRepository.from_session(session)
        self.guesses = GuessRepository.from_session(session)
        self.idempotency = IdempotencyRepository.from_session(session)
        self.jobs = JobRepository.from_session(session)
        self.ledger = LedgerRepository.from_session(session)
        self.loyalty = LoyaltyRepository.from_session(session)
        self.pools = PoolRepository.from_session(session)
        self.purges = PurgeRepository.from_session(session)
        self.redemptions = RedemptionRepository.from_session(session)
        self.referrals = ReferralRepository.from_session(session)
        self.schema = SchemaRepository.from_session(session)
        self.support = SupportRepository.from_session(session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        self._session = None
        try:
            await session.rollback()
        finally:
            await session.close()

    async def commit(self) -> None:
        await self.session.commit()

    def savepoint(self) -> "Savepoint":
        return Savepoint(self.session)


class ReplicaUnitOfWork(UnitOfWork):
    """A unit of work for reads that may lag: on the read replica, or on the primary when there
    is none or it gives no connection (db/engine.py, ReplicaRoute). Never for a write: the
    replica refuses them."""

    def __init__(self, database: Database) -> None:
        route = database.route
        on_replica = route is not None and route.usable()
        super().__init__(database.replica_sessions if on_replica else database.sessions)
        self._database = database
        self._on_replica = on_replica

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        route = self._database.route
        if not self._on_replica or route is None:
            return self
        try:
            # The connection now (no round trip but a new connection's), so that a replica
            # that gives none is found here, before any read, and the primary can serve.
            await self.session.connection()
        except DATABASE_ERRORS as exc:
            route.failed(exc)
            await self.session.close()
            self._sessionmaker = self._database.sessions
            return await super().__aenter__()
        return self


class Savepoint:
    """A nested transaction the use case can roll back without losing the outer one."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def __aenter__(self) -> Self:
        self._tx = await self._session.begin_nested()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._tx.is_active:
            if exc_type is None:
                await self._tx.commit()
            else:
                await self._tx.rollback()

    async def rollback(self) -> None:
        await self._tx.rollback()


class StatementUnitOfWork:
    """A pooled connection in autocommit mode: every statement is a transaction of its own and
    costs one round trip, with no BEGIN, COMMIT or ROLLBACK. For use cases whose reads are one
    statement each and whose writes are one atomic statement each (the checkout's); anything
    that needs several writes to succeed or fail together uses UnitOfWork."""

    checkout: CheckoutReads
    writes: CheckoutWrites

    def __init__(self, connect: ConnectionFactory) -> None:
        self._connect = connect

    async def __aenter__(self) -> Self:
        self._context = self._connect()
        connection = await self._context.__aenter__()
        self.checkout = CheckoutReads(connection)
        self.writes = CheckoutWrites(connection)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._context.__aexit__(exc_type, exc, tb)
