from __future__ import annotations

import json
import logging
import re
import traceback
from datetime import UTC, datetime
from urllib.parse import urlsplit

from utilities import context


class RequestIdFilter(logging.Filter):
    """Adds the current request id to every log record so log lines join up with audit rows, and makes the
    record safe for any formatter of the handler it guards (issue #10): a request line loses its query string
    (it may carry a searched name), and an exception is rendered as its frames and classes only, never its text
    (which may quote a value), in ``exc_text``, the field ``logging.Formatter`` prints instead of formatting
    ``exc_info`` itself. So the plain format is as safe as the JSON one, whichever formatter the settings name."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = context.current()
        record.request_id = ctx.request_id if ctx else "-"
        if record.name == "django.server" or getattr(record, "request", None) is not None:
            record.msg, record.args = _without_query(record.getMessage()), None
        if record.exc_info and record.exc_info[0] is not None:
            # Replaces whatever another handler's formatter may have cached there.
            record.exc_text = safe_exception_text(record.exc_info)
        return True


def safe_exception_text(exc_info) -> str:
    """A traceback without the exceptions' text: the frames (file, line, function, source line) and the class
    of each exception in the chain. An exception's message may quote a name, a phone number or a narrative."""
    exc_type, exc, tb = exc_info
    chain: list[tuple[type, object]] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.append((type(exc), exc.__traceback__))
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    if not chain:
        chain = [(exc_type, tb)]
    parts = []
    for cls, frames in reversed(chain):
        if parts:
            parts.append("\nThe above exception led to:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(frames))
        parts.append(f"{cls.__module__}.{cls.__qualname__} (exception text not logged)\n")
    return "".join(parts).rstrip("\n")


class PlainFormatter(logging.Formatter):
    """The plain one-line format (``BEACON_LOG_FORMAT=plain``) with the same guarantees as ``JsonFormatter``
    for messages and exceptions: no query string on a request line, no exception text, whatever filters the
    handler has."""

    def format(self, record: logging.LogRecord) -> str:
        safe = logging.makeLogRecord(record.__dict__)
        if record.name == "django.server" or getattr(record, "request", None) is not None:
            safe.msg, safe.args = _without_query(record.getMessage()), None
        safe.exc_info, safe.exc_text = None, None
        text = super().format(safe)
        if record.exc_info and record.exc_info[0] is not None:
            text = f"{text}\n{safe_exception_text(record.exc_info)}"
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line (``BEACON_LOG_FORMAT=json``, issue #11) for a log shipper.

    Only fixed fields are written: time, level, logger, message, request_id, and for a request's own log
    lines its method, path and status. Never the ``extra`` attributes a caller may attach, never a request
    body or query string (a path carries ids only; a query string may carry a searched name), and for an
    exception only its class and the frames of its traceback, not its text, which may quote a value.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or _current_request_id(),
        }
        request = getattr(record, "request", None)
        if request is not None:
            # django.request and django.server: their messages quote the full request line; keep the path only.
            # (django.server hands over its socket rather than an HttpRequest: no method or path then.)
            path = getattr(request, "path", None)
            if isinstance(path, str):
                entry["method"] = getattr(request, "method", None)
                entry["path"] = urlsplit(path).path
                # Django logs a response after RequestContextMiddleware has let go of the request's context.
                entry["request_id"] = getattr(request, "request_id", None) or entry["request_id"]
            entry["message"] = _without_query(entry["message"])
        status = getattr(record, "status_code", None)
        if status is not None:
            entry["status"] = status
        if record.name == "django.server":
            entry["message"] = _without_query(entry["message"])
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc_type"] = f"{record.exc_info[0].__module__}.{record.exc_info[0].__qualname__}"
            entry["stack"] = "".join(traceback.format_tb(record.exc_info[2]))
        return json.dumps(entry, ensure_ascii=False, default=str)


def _current_request_id() -> str:
    ctx = context.current()
    return ctx.request_id if ctx else "-"


_QUERY = re.compile(r"\?[^\s\"']*")


def _without_query(message: str) -> str:
    """Drops every ``?query`` from a request line ("GET /cases/?q=name HTTP/1.1" -> "GET /cases/ HTTP/1.1")."""
    return _QUERY.sub("", message)
