"""No secret in a log line: query strings are redacted wherever a URL is logged.

Secrets travel in query strings: WeChat's `access_token`, a group robot's `key`, a push's
`signature`, `nonce` and `msg_signature`, a login `js_code` and the app `secret`. uvicorn's
access log prints every request's query, and httpx logs every URL it calls at INFO. A filter on
those loggers replaces each parameter's value before any handler formats the record, whatever
level or handler a deployment configures.
"""

import logging
import re
from typing import Final

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
