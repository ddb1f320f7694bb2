"""What the persistence layer reports besides results."""

from asyncpg import InternalClientError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError


class DuplicateKeyError(Exception):
    """An insert or update hit a unique constraint; constraint names the one it hit."""

    def __init__(self, constraint: str) -> None:
        super().__init__(constraint)
        self.constraint = constraint


class CheckViolationError(Exception):
    """A write broke a CHECK constraint the service should have prevented."""

    def __init__(self, constraint: str) -> None:
        super().__init__(constraint)
        self.constraint = constraint


class CodeBusyError(Exception):
    """Every counter row of a code with room left stayed held by other redeems for longer
    than a redeem waits: the database is overloaded, not the code used up."""


class DatabaseUnavailableError(Exception):
    """A statement sent straight to the driver could not be served: the connection was lost or
    the server refused for a transient reason (the same cases is_database_unavailable names)."""


class StatementUndoneError(DatabaseUnavailableError):
    """PostgreSQL undid a statement whole to break a deadlock or a serialization conflict with
    another transaction: nothing it did remains, and it may simply run again."""


DATABASE_ERRORS: tuple[type[Exception], ...] = (
    DBAPIError,
    PoolTimeoutError,
    OSError,
    DatabaseUnavailableError,
    CodeBusyError,
)

# 57014 query_canceled (statement_timeout), 55P03 lock_not_available, 53300 too many connections,
# 57P01-57P03 the server shutting down or starting up; 40P01 deadlock_detected and 40001
# serialization_failure: the transaction was undone whole, and the same request may be retried.
UNDONE_SQLSTATES = frozenset({"40P01", "40001"})
# 08xxx: the connection failed, or, from PgBouncer, a client waited past query_wait_timeout
# or found max_client_conn reached (08P01).
UNAVAILABLE_SQLSTATES = frozenset(
    {"57014", "55P03", "53300", "57P01", "57P02", "57P03", "08000", "08003", "08006", "08P01"}
) | (UNDONE_SQLSTATES)


def is_database_unavailable(exc: Exception) -> bool:
    """True when exc means the database could not serve the request (lost connection, timeout,
    restart), as opposed to a bug in a statement."""
    if isinstance(exc, PoolTimeoutError | OSError | DatabaseUnavailableError | CodeBusyError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
            return True
        orig = exc.orig
        cause = orig.__cause__ if orig is not None else None
        if isinstance(cause, InternalClientError):
            # The driver lost track of a connection terminated mid-statement.
            return True
        sqlstate = getattr(orig, "sqlstate", None) or getattr(cause, "sqlstate", None)
        return sqlstate in UNAVAILABLE_SQLSTATES
    return False
