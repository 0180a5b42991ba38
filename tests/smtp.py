"""A real SMTP server on the loopback interface for tests (issue #3): emails go through Django's SMTP backend
and the network, exactly as in production, and land here for the test to read.

    with SMTPTestServer() as smtp:          # a context manager, settings overridden while it runs
        ...
        smtp.messages[0]["To"], smtp.bodies()

    class MyTests(SMTPServerMixin, BeaconTestCase):   # one server per test class, emptied before each test
        def test_x(self):
            ... self.smtp.messages ...
"""

from __future__ import annotations

import email
import logging
import socket
import threading
from email.message import EmailMessage
from email.policy import default as default_policy

from aiosmtpd.controller import Controller
from django.test import override_settings


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Collector:
    """aiosmtpd handler: keeps every message it accepts (with its envelope)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=default_policy)
        with self.lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class SMTPTestServer:
    """An aiosmtpd server on 127.0.0.1 and a free port, with Django's settings pointing at it."""

    def __init__(self):
        self.handler = _Collector()
        self.port = free_port()
        # server_hostname: skip aiosmtpd's reverse-DNS look-up of this machine's name (slow without DNS).
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, server_hostname="beacon-test")
        self.settings = override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=self.port,
            EMAIL_HOST_USER="",
            EMAIL_HOST_PASSWORD="",
            EMAIL_USE_TLS=False,
            EMAIL_USE_SSL=False,
        )

    def start(self) -> SMTPTestServer:
        # aiosmtpd logs every SMTP command at INFO; the tests read the messages instead.
        self._log_level = logging.getLogger("mail.log").level
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self.controller.start()
        self.settings.enable()
        return self

    def stop(self) -> None:
        self.settings.disable()
        self.controller.stop()
        logging.getLogger("mail.log").setLevel(self._log_level)

    def __enter__(self) -> SMTPTestServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        with self.handler.lock:
            return list(self.handler.messages)

    @property
    def recipients(self) -> list[str]:
        """Every envelope recipient, in order of arrival."""
        with self.handler.lock:
            return [rcpt for _sender, rcpts in self.handler.envelopes for rcpt in rcpts]

    def bodies(self) -> list[str]:
        return [message.get_body(preferencelist=("plain", "html")).get_content() for message in self.messages]

    def texts(self) -> list[str]:
        """Each message's decoded headers and body, to check that something appears nowhere in it (the raw
        message may be base64-encoded, where a search would find nothing whatever it held)."""
        return [
            "\n".join(f"{name}: {value}" for name, value in message.items())
            + "\n\n"
            + message.get_body(preferencelist=("plain", "html")).get_content()
            for message in self.messages
        ]

    def clear(self) -> None:
        with self.handler.lock:
            self.handler.messages.clear()
            self.handler.envelopes.clear()


class SMTPServerMixin:
    """One SMTP test server per test class (``self.smtp``), emptied before each test."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.smtp = SMTPTestServer().start()
        cls.addClassCleanup(cls.smtp.stop)

    def setUp(self):
        super().setUp()
        self.smtp.clear()
