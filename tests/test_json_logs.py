"""Structured logs (issue #11): BEACON_LOG_FORMAT=json writes one JSON object per line, and no line carries
personal data, a request body or a query string; the plain format carries no exception text or query string
either (issue #10)."""

from __future__ import annotations

import copy
import io
import json
import logging
import logging.config
import sys

from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from cases import actions
from tests.base import BeaconTestCase
from tests.test_people_search import open_case
from tests.test_public_form import report_data
from utilities.logging import JsonFormatter, PlainFormatter, RequestIdFilter

NAME = "Zorabeth Quillington"
PHONE = "+1 868 555 0101"


class JsonLogTests(BeaconTestCase):
    def capture(self) -> io.StringIO:
        """Every record at DEBUG and above, from every logger, formatted as production would."""
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(JsonFormatter())
        handler.addFilter(RequestIdFilter())
        root = logging.getLogger()
        # Every logger down to DEBUG, django.request's 404s included: stricter than production.
        loggers = [root, *(v for v in logging.root.manager.loggerDict.values() if isinstance(v, logging.Logger))]
        levels = {lg: lg.level for lg in loggers}
        root.addHandler(handler)
        for lg in loggers:
            lg.setLevel(logging.DEBUG)

        def restore():
            root.removeHandler(handler)
            for lg, level in levels.items():
                lg.setLevel(level)

        self.addCleanup(restore)
        return stream

    def test_a_flow_with_a_name_logs_no_name(self):
        stream = self.capture()
        with self.captureOnCommitCallbacks(execute=True):  # so the flow's alerts are queued for the worker
            case = open_case(self.investigator, hoi=self.hoi, intake=self.intake)
            given, family = NAME.split()
            link = actions.add_person(
                case, actor=self.investigator, role="victim", pseudonym="V-1", given_names=given, family_names=family
            )
            client = self.client_for("investigator")
            client.post(reverse("people:search"), {"q": NAME})
            client.get(reverse("people:search"), {"q": NAME})
            client.get(reverse("cases:person_detail", args=[case.pk, link.pk]))
            client.get("/no-such-page/", {"q": NAME})
            Client().post("/report/", report_data(named_persons=NAME, narrative=f"{NAME} is kept in a bar."))
        call_command("beacon_worker", "--once", verbosity=0)  # the alert emails the flow queued
        logging.getLogger("django.server").warning('"GET /people/search/?q=%s HTTP/1.1" 404 0', NAME.replace(" ", "+"))
        logging.getLogger("beacon.test").info("a line of our own")

        lines = stream.getvalue().splitlines()
        loggers = {json.loads(line)["logger"] for line in lines}
        self.assertLessEqual({"django.request", "django_tasks", "alerts.worker", "beacon.test"}, loggers)
        not_found = [json.loads(line) for line in lines if '"Not Found' in line]
        self.assertEqual([(e["path"], len(e["request_id"])) for e in not_found], [("/no-such-page/", 32)])
        for line in lines:
            entry = json.loads(line)
            self.assertLessEqual({"time", "level", "logger", "message", "request_id"}, set(entry))
            for word in (*NAME.split(), NAME.replace(" ", "+")):
                self.assertNotIn(word, line)
        ours = [json.loads(line) for line in lines if json.loads(line)["logger"] == "beacon.test"]
        self.assertEqual([(e["level"], e["message"]) for e in ours], [("INFO", "a line of our own")])

    def test_a_request_line_keeps_its_path_and_its_request_id(self):
        record = logging.LogRecord(
            "django.request", logging.WARNING, __file__, 1, "Not Found: %s", ("/cases/12/",), None
        )
        record.status_code = 404
        record.request = type("Request", (), {"path": "/cases/12/", "method": "GET"})()
        record.request_id = "abc123"
        entry = json.loads(JsonFormatter().format(record))
        self.assertEqual(
            {k: entry[k] for k in ("level", "logger", "message", "request_id", "method", "path", "status")},
            {"level": "WARNING", "logger": "django.request", "message": "Not Found: /cases/12/",
             "request_id": "abc123", "method": "GET", "path": "/cases/12/", "status": 404},
        )  # fmt: skip

    def test_an_exception_keeps_its_class_and_frames_but_not_its_text(self):
        try:
            raise ValueError(f"bad value {NAME}")
        except ValueError:
            record = logging.LogRecord("beacon", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
        entry = json.loads(JsonFormatter().format(record))
        self.assertEqual(entry["exc_type"], "builtins.ValueError")
        self.assertIn("test_an_exception_keeps_its_class", entry["stack"])
        self.assertNotIn("Quillington", json.dumps(entry))

    def test_extra_attributes_are_not_written(self):
        logger = logging.getLogger("beacon.test")
        stream = self.capture()
        logger.info("saved", extra={"given_names": NAME})
        self.assertNotIn("Quillington", stream.getvalue())


class PlainLogTests(BeaconTestCase):
    """The plain format (the default, BEACON_LOG_FORMAT=plain) carries no exception text and no query string
    either (issue #10), configured exactly as the settings configure the console handler."""

    def configured_handler(self, stream: io.StringIO) -> logging.Handler:
        configurator = logging.config.DictConfigurator(copy.deepcopy(settings.LOGGING))
        handler = logging.StreamHandler(stream)
        handler.setFormatter(configurator.configure_formatter(dict(settings.LOGGING["formatters"]["plain"])))
        for name in settings.LOGGING["handlers"]["console"]["filters"]:
            handler.addFilter(configurator.configure_filter(dict(settings.LOGGING["filters"][name])))
        return handler

    def capture(self, logger: logging.Logger) -> io.StringIO:
        stream = io.StringIO()
        handler = self.configured_handler(stream)
        logger.addHandler(handler)
        self.addCleanup(logger.removeHandler, handler)
        return stream

    def test_an_exception_keeps_its_class_and_frames_but_not_its_text(self):
        logger = logging.getLogger("beacon.plain")
        stream = self.capture(logger)
        try:
            try:
                raise KeyError(f"{NAME} not found")
            except KeyError as first:
                raise ValueError(f"bad value {NAME}") from first
        except ValueError:
            logger.exception("saving the person failed")
        text = stream.getvalue()
        self.assertIn("ERROR beacon.plain [-] saving the person failed", text)
        self.assertIn("Traceback (most recent call last):", text)
        self.assertIn("test_an_exception_keeps_its_class_and_frames_but_not_its_text", text)
        self.assertIn("builtins.KeyError (exception text not logged)", text)
        self.assertIn("builtins.ValueError (exception text not logged)", text)
        for word in NAME.split():
            self.assertNotIn(word, text)

    def test_text_cached_by_another_handler_is_not_reused(self):
        # Another handler formatting first caches the full traceback on the record: the console must not print it.
        logger = logging.getLogger("beacon.plain")
        logger.addHandler(other := logging.StreamHandler(io.StringIO()))
        self.addCleanup(logger.removeHandler, other)
        stream = self.capture(logger)
        try:
            raise RuntimeError(f"call {NAME} on {PHONE}")
        except RuntimeError:
            logger.exception("failed")
        self.assertIn("builtins.RuntimeError (exception text not logged)", stream.getvalue())
        self.assertNotIn("555 0101", stream.getvalue())
        self.assertNotIn("Quillington", stream.getvalue())

    def test_a_request_line_loses_its_query(self):
        logger = logging.getLogger("django.server")
        stream = self.capture(logger)
        logger.warning('"GET /people/search/?q=%s HTTP/1.1" 404 0', NAME.replace(" ", "+"))
        self.assertIn('"GET /people/search/ HTTP/1.1" 404 0', stream.getvalue())
        self.assertNotIn("Quillington", stream.getvalue())

    def test_the_plain_formatter_alone_is_as_safe(self):
        try:
            raise ValueError(f"bad value {NAME}")
        except ValueError:
            record = logging.LogRecord("beacon", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
        record.exc_text = f"cached text naming {NAME}"
        record.request_id = "abc123"
        text = PlainFormatter("%(levelname)s %(name)s [%(request_id)s] %(message)s").format(record)
        self.assertTrue(text.startswith("ERROR beacon [abc123] failed\nTraceback (most recent call last):"))
        self.assertIn("builtins.ValueError (exception text not logged)", text)
        self.assertNotIn("Quillington", text)
