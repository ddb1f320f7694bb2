"""One log format for everything the process prints: Tessera's own loggers, uvicorn's and
alembic's all go through the handler configured here.

- `json` (the default): one object per line, `{"ts": "2026-12-01T15:07:09.123Z", "level",
  "logger", "msg", "request_id", ...extras}`, timestamps in UTC to the millisecond;
- `console`: one readable line per record, for a terminal (`make run`).

The request id of the request being served (set by RequestContextMiddleware) is added to every
record logged while it is served, whatever logger logs it.
"""

import logging
import logging.config
import sys
import time
import traceback
from contextvars import ContextVar
from typing import Any, Literal, TextIO

import asyncpg
import orjson
from sqlalchemy.exc import EmulatedDBAPIException, StatementError

LogFormat = Literal["json", "console"]

# The request being served in this task, for the records logged while it is served.
current_request_id: ContextVar[str | None] = ContextVar("tessera_request_id", default=None)

# A record's own attributes; anything else on it came from `extra=` and is logged as a field.
# color_message is uvicorn's coloured copy of msg.
_NOT_EXTRAS = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "color_message",
    "request_id",
    "taskName",
}


class RequestIdFilter(logging.Filter):
    """Give every record the id of the request being served (None outside requests), unless
    the caller passed one in `extra`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "request_id" not in record.__dict__:
            record.request_id = current_request_id.get()
        return True


class _UtcSeconds:
    """`2026-12-01T15:07:09` for a record's time, formatted once per second: most records of
    a busy process share their second with the one before."""

    __slots__ = ("_format", "_second", "_text")

    def __init__(self, separator: str) -> None:
        self._second = -1
        self._text = ""
        self._format = f"%Y-%m-%d{separator}%H:%M:%S"

    def __call__(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._text = time.strftime(self._format, time.gmtime(second))
            self._second = second
        return self._text


# Database errors quote the values of the statement that failed (SQLAlchemy's parameters,
# asyncpg's "invalid input for query argument $1: '…'", PostgreSQL's "Key (code)=(…)"): codes,
# e-mails and key digests. A traceback names their class and SQLSTATE, never their message.
_QUOTING_ERRORS: tuple[type[BaseException], ...] = (
    StatementError,
    EmulatedDBAPIException,  # SQLAlchemy's stand-ins for asyncpg's errors
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


def format_exception_safely(exc: BaseException) -> str:
    """exc's traceback, chained exceptions first, as Python prints it, except that a database
    error's message is left out."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        cause = current.__cause__
        current = (
            cause if cause is not None or current.__suppress_context__ else current.__context__
        )
    parts: list[str] = []
    for link in reversed(chain):
        if parts:
            parts.append("\nThe above exception led to the following:\n\n")
        if link.__traceback__ is not None:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(traceback.format_tb(link.__traceback__))
        parts.append(_headline(link))
    return "".join(parts).rstrip("\n")


def describe_exception(exc: BaseException) -> str:
    """exc's one line (`Type: message`), a database error's message left out: for errors kept
    where others read them, such as a failed job's."""
    return _headline(exc).strip()


def _headline(exc: BaseException) -> str:
    if not isinstance(exc, _QUOTING_ERRORS):
        return "".join(traceback.format_exception_only(type(exc), exc))
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(exc, "sqlstate", None) or getattr(orig, "sqlstate", None)
    name = f"{type(exc).__module__}.{type(exc).__qualname__}"
    return f"{name}: (message withheld: it can quote request data; SQLSTATE {sqlstate})\n"


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _NOT_EXTRAS}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (UTC, milliseconds, Z), level, logger, msg, request_id,
    then the record's extras, and `exc` with the traceback if there is one."""

    def __init__(self) -> None:
        super().__init__()
        self._seconds = _UtcSeconds("T")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": f"{self._seconds(record.created)}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": record.__dict__.get("request_id"),
        }
        entry.update(_extras(record))
        if record.exc_info and record.exc_info[1] is not None:
            entry["exc"] = format_exception_safely(record.exc_info[1])
        elif record.stack_info:
            entry["stack"] = record.stack_info
        return orjson.dumps(entry, default=str).decode()


class ConsoleFormatter(logging.Formatter):
    """`2026-12-01 15:07:09.123Z INFO  tessera.access  request  method=POST ... request_id=…`,
    then the traceback, if any, on the lines below."""

    def __init__(self) -> None:
        super().__init__()
        self._seconds = _UtcSeconds(" ")

    def format(self, record: logging.LogRecord) -> str:
        fields = _extras(record)
        request_id = record.__dict__.get("request_id")
        if request_id is not None:
            fields["request_id"] = request_id
        line = (
            f"{self._seconds(record.created)}.{int(record.msecs):03d}Z "
            f"{record.levelname:<7} {record.name}  {record.getMessage()}"
        )
        if fields:
            line += "  " + " ".join(f"{key}={value}" for key, value in fields.items())
        if record.exc_info and record.exc_info[1] is not None:
            line += "\n" + format_exception_safely(record.exc_info[1])
        elif record.stack_info:
            line += "\n" + record.stack_info
        return line


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever sys.stderr is when a record is emitted, not when logging was set up,
    so a replaced stderr (a test's capture, a daemon's redirection) still gets the logs."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        pass


_FORMATTERS: dict[str, type[logging.Formatter]] = {
    "json": JsonFormatter,
    "console": ConsoleFormatter,
}


def logging_config(log_format: LogFormat, level: str) -> dict[str, Any]:
    """The `logging.config.dictConfig` of the whole process, also handed to uvicorn as its
    `log_config` so its own loggers print through the same handler. Everything propagates to
    the root logger's one handler; uvicorn's access log stays off (the access line is ours,
    with the route template instead of the raw path)."""
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"tessera": {"()": _FORMATTERS[log_format]}},
        "handlers": {
            "tessera": {
                "()": StderrHandler,
                "formatter": "tessera",
                "filters": ["request_id"],
            }
        },
        "root": {"level": "WARNING", "handlers": ["tessera"]},
        "loggers": {
            "tessera": {"level": level, "propagate": True},
            "uvicorn": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
            "alembic": {"level": level, "handlers": [], "propagate": True},
            # Says at INFO which plugins it loaded, whenever alembic is imported.
            "alembic.runtime.plugins": {"level": "WARNING", "propagate": True},
            "sqlalchemy.engine": {"level": "WARNING", "handlers": [], "propagate": True},
        },
    }


def configure_logging(log_format: LogFormat, level: str) -> None:
    """Route every logger of the process through one stderr handler in log_format."""
    logging.config.dictConfig(logging_config(log_format, level))
