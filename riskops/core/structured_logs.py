"""Structured logs: one JSON object a line in production, readable lines in development, with a
request id that follows a request into the Celery tasks it starts, and no personal data.

django-structlog does the request and task plumbing (docs/operations.md, "Logs"):

- `RequestIdMiddleware` (riskops/core/request_ids.py, before django-structlog's) takes the caller's `X-Request-ID` when it
  is a plain token (letters, digits, `._:-`, at most 128), otherwise makes one, and echoes it in
  the response's `X-Request-ID`; django-structlog's `RequestMiddleware` binds it (with the user id)
  to every log line of the request and logs `request_started` / `request_finished`.
- Celery: the web process adds the bound context to each task message's headers
  (DJANGO_STRUCTLOG_CELERY_ENABLED); a worker binds it again before the task runs
  (`DjangoStructLogInitStep`, added to the worker's boot steps by request_ids.py's
  `install_celery_worker_step`).
  Eager tasks (no broker) run inside the request and keep its context as they are.
- Log lines from the standard library's loggers (Django, Celery, our modules' `logging`) go
  through the same renderer, with the request's context merged in.

No personal data: national ids, phone numbers and names are never passed to a logger on purpose;
the request line is logged as its path *without* the query string (a search for a phone's last
digits is a query string), client addresses are not logged, tracebacks are rendered without
local variables, and `drop_personal_fields` blanks any event field whose name says it holds one
(`national_id`, `phone`, `full_name`, ...) should one ever be bound. tests/core/test_structured_logs.py
runs the flows that touch such data and greps everything logged for the seeded values.
"""

from __future__ import annotations

import sys

import structlog

# Field names that hold personal data wherever they appear in an event.
PERSONAL_FIELDS = frozenset({"national_id", "phone", "full_name", "email", "address", "ip"})
REDACTED = "[redacted]"


def drop_personal_fields(logger, method_name: str, event_dict: dict) -> dict:
    """structlog processor: blank the fields named like personal data (a last line of defence)."""
    for key in PERSONAL_FIELDS.intersection(event_dict):
        event_dict[key] = REDACTED
    return event_dict


def shared_processors() -> list:
    """What every line goes through, structlog's own and the standard library's alike."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        drop_personal_fields,
    ]


def logging_config(*, json_lines: bool, level: str) -> dict:
    """The LOGGING dict: one handler on stderr, rendering JSON lines or coloured console lines."""
    if json_lines:
        # A traceback as text in the `exception` field, never with local variables.
        render = [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:
        # Plain tracebacks (no rich, no locals): a local variable may hold a customer's data.
        render = [structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback)]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [structlog.stdlib.ProcessorFormatter.remove_processors_meta, *render],
                "foreign_pre_chain": shared_processors(),
            },
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django logs every 4xx as "Bad Request: /path" at WARNING; django-structlog's
            # request_finished line already says it, with the request id.
            "django.request": {"level": "ERROR"},
            # Never the SQL with its parameters (a national id in a WHERE), even at LOG_LEVEL=DEBUG
            # in development, where Django would log every query.
            "django.db.backends": {"level": "INFO"},
        },
    }


def configure_structlog() -> None:
    """structlog's own loggers (django-structlog's) hand their events to the standard library,
    whose handler (logging_config) renders them."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared_processors(),
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
