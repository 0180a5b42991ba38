from __future__ import annotations

import json
import logging
import re
import traceback
from datetime import UTC, datetime
from urllib.parse import urlsplit

from utilities import context


class RequestIdFilter(logging.Filter):
    """Adds the current request id to every log record so log lines join up with audit rows."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = context.current()
        record.request_id = ctx.request_id if ctx else "-"
        return True


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
