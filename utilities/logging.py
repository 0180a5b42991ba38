from __future__ import annotations

import logging

from utilities import context


class RequestIdFilter(logging.Filter):
    """Adds the current request id to every log record so log lines join up with audit rows."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = context.current()
        record.request_id = ctx.request_id if ctx else "-"
        return True
