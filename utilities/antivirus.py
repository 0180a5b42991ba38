"""A small client for ClamAV's scanning daemon, clamd (issue #10).

It speaks clamd's documented protocol itself (clamd(8), "COMMANDS"): ``zPING`` and ``zINSTREAM``, every
command and reply ended by a NUL byte; the stream is sent as chunks, each prefixed with its length as a 4-byte
big-endian number, and ended by a zero-length chunk. clamd answers ``stream: OK``, ``stream: <name> FOUND``,
or ``INSTREAM size limit exceeded. ERROR`` when the stream passes its StreamMaxLength (it then closes the
connection, possibly while we are still sending).

Written here rather than depending on the ``clamd`` package from PyPI, which is no longer maintained.

``BEACON_CLAMAV`` (settings.CLAMAV) chooses the scanner:

- ``auto`` (default): clamd at Debian's default socket ``/run/clamav/clamd.ctl`` if that socket exists,
  otherwise no scanning;
- ``off``: no scanning;
- ``unix:/path/to/clamd.sock`` or ``tcp:host:port``: that clamd, which must answer.

Whenever a scanner is in use (chosen or found) and does not answer, uploads are refused: a file that could
not be scanned is never stored (fail closed).
"""

from __future__ import annotations

import os
import re
import socket
import stat
import struct
from dataclasses import dataclass

from django.conf import settings

# Debian's clamav-daemon listens here (LocalSocket in /etc/clamav/clamd.conf).
DEBIAN_SOCKET = "/run/clamav/clamd.ctl"
CONNECT_TIMEOUT = 5.0  # seconds to connect and for a PING
# Seconds for any one read or write while a file is scanned: below gunicorn's 60 s worker timeout
# (deploy/systemd/beacon-web.service), so a stuck clamd ends in a clear refusal rather than a killed worker.
SCAN_TIMEOUT = 45.0
CHUNK_BYTES = 64 * 1024
MAX_REPLY_BYTES = 4096
_SIGNATURE_SAFE = re.compile(r"[^A-Za-z0-9._:/+-]")


class ScannerError(Exception):
    """The scanner did not answer, or answered something other than a verdict. The file was not scanned."""


class TooLargeToScan(ScannerError):
    """The file is larger than clamd's StreamMaxLength, so clamd refused to scan it."""


@dataclass(frozen=True)
class Scanner:
    """One clamd, reached over a unix socket (``path``) or TCP (``host``, ``port``)."""

    path: str = ""
    host: str = ""
    port: int = 0

    @classmethod
    def parse(cls, value: str) -> Scanner:
        if value.startswith("unix:"):
            return cls(path=value.removeprefix("unix:"))
        if value.startswith("tcp:"):
            host, _, port = value.removeprefix("tcp:").rpartition(":")
            return cls(host=host.strip("[]"), port=int(port))
        raise ValueError("not a scanner address")

    def _connect(self) -> socket.socket:
        try:
            if self.path:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(CONNECT_TIMEOUT)
                try:
                    sock.connect(self.path)
                except BaseException:
                    sock.close()
                    raise
                return sock
            return socket.create_connection((self.host, self.port), timeout=CONNECT_TIMEOUT)
        except OSError as exc:
            raise ScannerError(f"cannot connect to clamd: {type(exc).__name__}") from exc

    @staticmethod
    def _reply(sock: socket.socket) -> str:
        """Read one NUL-terminated reply (or whatever came before clamd closed the connection)."""
        data = b""
        while b"\0" not in data and len(data) < MAX_REPLY_BYTES:
            piece = sock.recv(MAX_REPLY_BYTES)
            if not piece:
                break
            data += piece
        return data.split(b"\0", 1)[0].decode("utf-8", "replace").strip()

    def ping(self) -> None:
        """Return if clamd answers PONG; raise :class:`ScannerError` otherwise."""
        with self._connect() as sock:
            try:
                sock.sendall(b"zPING\0")
                reply = self._reply(sock)
            except OSError as exc:
                raise ScannerError(f"clamd did not answer PING: {type(exc).__name__}") from exc
        if reply != "PONG":
            raise ScannerError("clamd answered PING with something else")

    def scan(self, upload) -> str | None:
        """Scan an uploaded file (anything with ``seek`` and ``read``); leaves it at its start.

        Returns None when clamd finds nothing, or the name of the signature it found. Raises
        :class:`TooLargeToScan` or :class:`ScannerError` when the file could not be scanned.
        """
        with self._connect() as sock:
            sock.settimeout(SCAN_TIMEOUT)
            sent_all = True
            try:
                sock.sendall(b"zINSTREAM\0")
                upload.seek(0)
                while chunk := upload.read(CHUNK_BYTES):
                    sock.sendall(struct.pack("!L", len(chunk)) + chunk)
                sock.sendall(struct.pack("!L", 0))
            except (BrokenPipeError, ConnectionResetError):
                # clamd closes the connection when the stream passes StreamMaxLength; its reason may
                # still be waiting to be read.
                sent_all = False
            except OSError as exc:
                raise ScannerError(f"sending to clamd failed: {type(exc).__name__}") from exc
            finally:
                upload.seek(0)
            try:
                reply = self._reply(sock)
            except OSError as exc:
                raise ScannerError(f"clamd did not answer the scan: {type(exc).__name__}") from exc
        if "size limit exceeded" in reply:
            raise TooLargeToScan("the file is larger than clamd's StreamMaxLength")
        if not sent_all:
            raise ScannerError("clamd closed the connection during the scan")
        verdict = reply.removeprefix("stream:").strip()
        if verdict == "OK":
            return None
        if verdict.endswith(" FOUND"):
            # The name comes from the signature database, not from the file; kept short and plain anyway.
            return _SIGNATURE_SAFE.sub("_", verdict.removesuffix(" FOUND").strip())[:200] or "unknown"
        raise ScannerError("clamd answered the scan with an error")


def _is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def configured_scanner() -> Scanner | None:
    """The scanner uploads go through, or None when scanning is off (or ``auto`` found no clamd)."""
    value = settings.CLAMAV
    if value == "off":
        return None
    if value == "auto":
        return Scanner(path=DEBIAN_SOCKET) if _is_socket(DEBIAN_SOCKET) else None
    return Scanner.parse(value)
