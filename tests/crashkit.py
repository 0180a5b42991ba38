"""Shared pieces of the crash-safety tests (issue #10, "Nothing lost"): a real installation served by gunicorn in
its own process group on a loopback port, and officers who sign in through the real pages (password, then TOTP)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from binascii import unhexlify
from pathlib import Path

import requests
from django.conf import settings

BASE = Path(settings.BASE_DIR)
PASSWORD = "correct horse battery staple 42"

REPORT = {
    "channel": "hotline", "received_at": "2026-11-20T10:30", "reporter_relationship": "public", "victim_sex": "female",
    "victim_age_group": "adult", "urgency": "priority", "narrative": "Women seen locked in a house.",
}  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def totp_code(hex_key: str) -> str:
    from django_otp.oath import totp

    return f"{totp(unhexlify(hex_key), step=30, t0=0, digits=6, drift=0):06d}"


def csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def marked_json(output: str, marker: str):
    """The JSON a setup or check script printed after ``marker`` (Django may print other lines first)."""
    return json.loads(output[output.index(marker) + len(marker) :])


def children(pid: int) -> set[int]:
    """The pids of the processes whose parent is ``pid`` (Linux /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.add(int(entry.name))
            except (OSError, ValueError):
                continue  # it ended while we looked
    return found


class Installation:
    """One Beacon installation: its own var/ and media/ directories, the database ``database_url`` names, and a
    gunicorn master with two workers started in a new session so that a kill reaches all of them at once."""

    def __init__(self, root: Path, database_url: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("BEACON_", "DATABASE_URL", "MEDIA_ROOT"))},
            "BEACON_ENV": "test",
            "BEACON_VAR_DIR": str(root / "var"),
            "DATABASE_URL": database_url,
            "MEDIA_ROOT": str(root / "media"),
        }
        self.server: subprocess.Popen | None = None

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=BASE, env=self.env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def start(self, *options: str) -> None:
        """Start gunicorn with two workers (and any further gunicorn ``options``) and wait until it serves pages."""
        gunicorn = Path(sys.executable).parent / "gunicorn"
        self.server = subprocess.Popen(
            [str(gunicorn), "beacon.wsgi", "--workers", "2", "--bind", f"127.0.0.1:{self.port}", "--timeout", "60", *options],
            cwd=BASE, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if requests.get(self.base + "/accounts/login/", timeout=10).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.2)
            if self.server.poll() is not None:
                break
        self.stop()
        raise AssertionError("the server did not start")

    def workers(self) -> set[int]:
        """The pids of the gunicorn workers: unchanged pids mean no worker was replaced."""
        return children(self.server.pid)

    def kill(self) -> None:
        """SIGKILL the master and its workers (its own process group): no clean shutdown, no flush."""
        os.killpg(self.server.pid, signal.SIGKILL)
        self.server.wait(timeout=10)

    def stop(self) -> None:
        if self.server and self.server.poll() is None:
            self.kill()


def sign_in(base: str, username: str, key: str) -> requests.Session:
    session = requests.Session()
    page = session.get(base + "/accounts/login/")
    response = session.post(
        base + "/accounts/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": csrf(page.text)},
    )
    assert "/accounts/mfa/verify/" in response.url, "password sign-in should lead to the second factor"
    response = session.post(response.url, data={"code": totp_code(key), "csrfmiddlewaretoken": csrf(response.text)})
    assert "/accounts/" not in response.url, "the second factor should complete the sign-in"
    return session
