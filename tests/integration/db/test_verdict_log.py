"""The verdict log's two writers (one statement on the checkout's path, the ORM in a
transaction) and its reader agree."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.repositories.checkout_writes import CheckoutWrites
from app.domain.reasons import Reason
from app.domain.verdicts import LoggedVerdict, VerdictSource
from tests.factories import Factory

AT = datetime(2026, 6, 1, 12, tzinfo=UTC)


async def test_both_writers_log_what_the_reader_lists_newest_first(
    factory: Factory, connection: AsyncConnection
) -> None:
    key = uuid4()
    campaign = uuid4()
    older = LoggedVerdict("ann", AT, VerdictSource.VALIDATE, "tYpO", Reason.NOT_FOUND, None)
    newer = LoggedVerdict(
        "ann", AT + timedelta(minutes=1), VerdictSource.HOLD, "ONCE", Reason.LIMIT_REACHED, campaign
    )
    await CheckoutWrites(connection).record_verdicts([older], key)
    uow = factory.uow()
    async with uow:
        await uow.support.log_verdicts([newer], key)
        await uow.support.log_verdicts([], key)
        listed = await uow.support.recent_verdicts("ann", limit=10, before=None)
        assert [verdict for _, verdict in listed] == [newer, older]
        after_first = await uow.support.recent_verdicts(
            "ann", limit=10, before=(listed[0][1].at, listed[0][0])
        )
        assert [verdict for _, verdict in after_first] == [older]
