"""The process's one log format: JSON lines with UTC millisecond timestamps and the request id,
or readable console lines; uvicorn's and alembic's loggers print through it too."""

import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import asyncpg
import pytest

from app.logs import (
    ConsoleFormatter,
    JsonFormatter,
    RequestIdFilter,
    configure_logging,
    current_request_id,
    describe_exception,
)

# 2026-12-01T15:07:09.123Z
MOMENT = datetime(2026, 12, 1, 15, 7, 9, 123_456, tzinfo=UTC).timestamp()


def record(msg: str = "hello %s", *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("tessera.test", logging.INFO, __file__, 1, msg, args or None, None)
    made.created = MOMENT
    made.msecs = (MOMENT - int(MOMENT)) * 1000
    made.__dict__.update(extra)
    return made


@pytest.fixture
def reset_logging() -> Iterator[None]:
    yield
    configure_logging("json", "warning")


class TestJson:
    def test_fields_in_order_with_utc_milliseconds(self) -> None:
        line = JsonFormatter().format(record("hello %s", "world", request_id="r-1", sku="a"))
        assert list(json.loads(line).items()) == [
            ("ts", "2026-12-01T15:07:09.123Z"),
            ("level", "info"),
            ("logger", "tessera.test"),
            ("msg", "hello world"),
            ("request_id", "r-1"),
            ("sku", "a"),
        ]

    def test_request_id_is_null_outside_a_request(self) -> None:
        assert json.loads(JsonFormatter().format(record()))["request_id"] is None

    def test_exceptions_carry_their_traceback(self) -> None:
        try:
            raise ValueError("broken")
        except ValueError:
            made = record()
            made.exc_info = sys.exc_info()
        entry = json.loads(JsonFormatter().format(made))
        assert "ValueError: broken" in entry["exc"]
        assert "\n" not in JsonFormatter().format(made)

    def test_uvicorns_coloured_copy_is_left_out(self) -> None:
        entry = json.loads(JsonFormatter().format(record(color_message="\x1b[1mhello\x1b[0m")))
        assert "color_message" not in entry


class TestDescribeException:
    def test_one_line_and_a_database_error_s_message_withheld(self) -> None:
        assert describe_exception(RuntimeError("no code left")) == "RuntimeError: no code left"
        quoting = asyncpg.UniqueViolationError("Key (code)=(SECRET-CODE) already exists.")
        described = describe_exception(quoting)
        assert "SECRET-CODE" not in described
        assert "UniqueViolationError" in described
        assert "\n" not in described


class TestConsole:
    def test_one_readable_line(self) -> None:
        line = ConsoleFormatter().format(
            record("request", method="GET", route="/healthz", request_id="r-1")
        )
        assert line == (
            "2026-12-01 15:07:09.123Z INFO    tessera.test  request  "
            "method=GET route=/healthz request_id=r-1"
        )


class TestRequestId:
    def test_records_get_the_id_of_the_request_being_served(self) -> None:
        token = current_request_id.set("r-42")
        try:
            made = record()
            RequestIdFilter().filter(made)
        finally:
            current_request_id.reset(token)
        assert made.__dict__["request_id"] == "r-42"

    def test_an_explicit_request_id_wins(self) -> None:
        token = current_request_id.set("r-42")
        try:
            made = record(request_id="given")
            RequestIdFilter().filter(made)
        finally:
            current_request_id.reset(token)
        assert made.__dict__["request_id"] == "given"


@pytest.mark.usefixtures("reset_logging")
class TestConfiguration:
    def test_uvicorn_and_alembic_print_through_the_same_handler(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        configure_logging("json", "info")
        token = current_request_id.set("r-7")
        try:
            logging.getLogger("uvicorn.error").info("Started server process [%d]", 1)
        finally:
            current_request_id.reset(token)
        logging.getLogger("alembic.runtime.migration").info("Running upgrade")
        logging.getLogger("tessera.test").debug("not at info")
        logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET /v1/codes/SECRET"')
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
        assert [(line["logger"], line["msg"], line["request_id"]) for line in lines] == [
            ("uvicorn.error", "Started server process [1]", "r-7"),
            ("alembic.runtime.migration", "Running upgrade", None),
        ]

    def test_console_format_and_level(self, capsys: pytest.CaptureFixture[str]) -> None:
        configure_logging("console", "debug")
        logging.getLogger("tessera.test").debug("now at %s", "debug")
        (line,) = capsys.readouterr().err.splitlines()
        assert line.endswith("DEBUG   tessera.test  now at debug")
