"""structlog set-up: readable console output in dev, JSON lines in production."""

from __future__ import annotations

import logging
import sys

import structlog


class _StderrLogger:
    """structlog's PrintLogger, but writing to whatever sys.stderr is at each line: a process
    that swaps its stderr (a test's capture, closed when the test ends) must not leave every
    later log call raising on the stream it had at set-up."""

    def msg(self, message: str) -> None:
        stream = sys.stderr
        stream.write(message + "\n")
        stream.flush()

    log = debug = info = warn = warning = error = err = critical = fatal = exception = msg


def _stderr_logger(*_args: object) -> _StderrLogger:
    return _StderrLogger()


def configure_logging(fmt: str = "console", level: str = "info") -> None:
    level_no = logging.getLevelName(level.upper())
    processors: list = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if fmt == "json":
        processors += [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:
        processors += [structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(level_no),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=True,
    )
    # Libraries that log through the standard library (uvicorn, yoyo) stay at warning.
    logging.basicConfig(level=max(level_no, logging.WARNING), stream=sys.stderr)


def get_logger(name: str | None = None) -> structlog.typing.FilteringBoundLogger:
    return structlog.get_logger(name)
