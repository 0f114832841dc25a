"""Log lines: one JSON object each, with the request's id, and never a secret.

Secrets travel in query strings: WeChat's `access_token`, a group robot's `key`, a push's
`signature`, `nonce` and `msg_signature`, a login `js_code` and the app `secret`. uvicorn's
access log prints every request's query, and httpx logs every URL it calls at INFO. A filter on
those loggers replaces each parameter's value before any handler formats the record, whatever
level or handler a deployment configures; the JSON lines redact their message and traceback
once more.

Every line written while a request is served carries its id (`request_id`: the client's
`X-Request-ID` when it is well-formed, else one made here) and, once the caller is known, the
member's id; in the worker, the id of the job run. The code base logs through the standard
library; structlog's formatter renders those records as JSON (`configure`).
"""

import logging
import re
import sys
import uuid
from collections.abc import Mapping, MutableMapping
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any, Final, Literal, TextIO

import structlog

# `name=value` inside a query string: after `?` or `&`, up to the next separator.
_QUERY_VALUE = re.compile(r"([?&][^=&#\s\"'?]*=)[^&#\s\"']*")
REDACTED: Final = "***"
URL_LOGGERS: Final = (
    "uvicorn.access",
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)


def redact(text: str) -> str:
    """`/send?access_token=abc&x=1` → `/send?access_token=***&x=***`."""
    return _QUERY_VALUE.sub(rf"\g<1>{REDACTED}", text)


class RedactQueries(logging.Filter):
    """The arguments are redacted one by one and kept as arguments: uvicorn's access formatter
    unpacks them. A message without arguments is redacted whole."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.args and isinstance(record.msg, str):
            record.msg = redact(record.msg)
        elif isinstance(record.args, tuple):
            record.args = tuple(_redacted_arg(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _redacted_arg(arg) for key, arg in record.args.items()}
        return True


def _redacted_arg(arg: object) -> object:
    """Numbers stay numbers (a `%d` needs one); anything else that shows a query is redacted
    as text (httpx passes its URL objects)."""
    if isinstance(arg, int | float) or arg is None:
        return arg
    text = str(arg)
    return redact(text) if "=" in text else arg


_FILTER: Final = RedactQueries()
# aiosqlite logs each statement with its values at DEBUG, past the engine's `hide_parameters`.
QUIETED: Final = ("aiosqlite",)


def install() -> None:
    """Idempotent: a logger holds the one filter once."""
    for name in URL_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    for name in QUIETED:
        logging.getLogger(name).setLevel(logging.INFO)


# --- the request's context --------------------------------------------------------------------

# What a caller may name its request: letters, digits and `._:-`, as request ids and UUIDs are.
# Anything else (too long, spaces, line breaks) is replaced, so a client cannot forge log lines.
_WELL_FORMED_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


@dataclass
class RequestContext:
    """Mutable, so that what is learnt during the request (the member) reaches every line,
    whichever task or thread writes it."""

    request_id: str
    member_id: int | None = None


_context: ContextVar[RequestContext | None] = ContextVar("request_context", default=None)


def request_id_from(header: str | None) -> str:
    """The caller's id when it is well-formed, else a new one."""
    if header is not None and _WELL_FORMED_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def begin(request_id: str) -> Token[RequestContext | None]:
    return _context.set(RequestContext(request_id))


def end(token: Token[RequestContext | None]) -> None:
    _context.reset(token)


def current_request_id() -> str | None:
    context = _context.get()
    return context.request_id if context else None


def note_member(member_id: int) -> None:
    """The signed-in member of the request being served, for its later lines."""
    context = _context.get()
    if context is not None:
        context.member_id = member_id


# --- JSON lines -------------------------------------------------------------------------------

# The fields our own lines pass in `extra` (the access line, the configuration line); other
# extras (uvicorn's `color_message`) are not copied.
EXTRA_FIELDS: Final = (
    "method",
    "route",
    "path",
    "status",
    "duration_ms",
    "client",
    "component",
    "settings",
)
_STDLIB_ROOT: Final = ("uvicorn", "uvicorn.error", "uvicorn.access")


def _request_context(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    context = _context.get()
    if context is not None:
        event["request_id"] = context.request_id
        if context.member_id is not None:
            event["member_id"] = context.member_id
    return event


def _redacted(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in ("event", "exception"):
        if isinstance(event.get(key), str):
            event[key] = redact(event[key])
    return event


def formatter(fmt: Literal["json", "console"] = "json") -> logging.Formatter:
    """Renders any standard library record as one line: JSON, or for a developer's terminal
    key=value text."""
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
            structlog.stdlib.ExtraAdder(EXTRA_FIELDS),
            _request_context,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _redacted,
            renderer,
        ],
    )


def configure(
    level: str = "INFO",
    fmt: Literal["json", "console"] = "json",
    stream: TextIO | None = None,
) -> None:
    """The process's logging (the API's and the worker's entry points): one handler on the
    root logger, every logger (uvicorn's too) writing through it."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(fmt))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in _STDLIB_ROOT:
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    install()


def startup(process: str, settings: Mapping[str, object]) -> None:
    """The line each process starts with: the configuration in force, secrets left out."""
    logging.getLogger("api").info(
        "%s starting", process, extra={"component": process, "settings": dict(settings)}
    )
