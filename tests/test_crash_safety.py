"""Crash safety (issue #10, "Nothing lost"): intake officers file reports through a real server from several
threads; the server is killed with SIGKILL in the middle of the load, then restarted. Every report whose creation
the server acknowledged must be there, with its audit row, no report may exist without its audit row (nothing
half-written), and the audit chain must verify.

Runs gunicorn (two workers) against a SQLite file in WAL mode with IMMEDIATE transactions, as configured for
small installations. Everything runs in its own processes, on a loopback port, with its own database.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings

BASE = Path(settings.BASE_DIR)
OFFICERS = 4
PASSWORD = "correct horse battery staple 42"

SETUP = r"""
import json
from accounts.roles import sync_roles
from directory.choices import AgencyKind, OrganisationType
from tests.base import give_totp, make_agency, make_user
sync_roles()
ctu = make_agency("Counter Trafficking Unit", "CTU", AgencyKind.CTU, OrganisationType.CENTRAL_GOVERNMENT, home=True)
make_user("hoi", ctu, "head_of_investigations")
make_user("director", ctu, "director")
keys = {}
for n in range(OFFICERS):
    user = make_user(f"intake{n}", ctu, "intake_officer")
    device = give_totp(user)
    keys[user.username] = device.key
print("KEYS" + json.dumps(keys))
""".replace("OFFICERS", str(OFFICERS))

CHECK = r"""
import json
from audit.models import AuditEvent
from audit.verify import verify_chain
from intake.models import Report
audited = set(AuditEvent.objects.filter(action="intake.report_created").values_list("object_id", flat=True))
chain = verify_chain()
print("RESULT" + json.dumps({"reports": sorted(Report.objects.values_list("pk", flat=True)), "audited": sorted(int(x) for x in audited), "chain_ok": chain.ok, "chain_reason": chain.reason}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def totp_code(hex_key: str) -> str:
    from binascii import unhexlify

    from django_otp.oath import totp

    return f"{totp(unhexlify(hex_key), step=30, t0=0, digits=6, drift=0):06d}"


def csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


class Installation:
    def __init__(self, root: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("BEACON_", "DATABASE_URL", "MEDIA_ROOT"))},
            "BEACON_ENV": "test",
            "BEACON_VAR_DIR": str(root / "var"),
            "DATABASE_URL": f"sqlite:///{root / 'beacon.sqlite3'}",
            "MEDIA_ROOT": str(root / "media"),
        }
        self.server: subprocess.Popen | None = None

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=BASE, env=self.env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def start(self) -> None:
        gunicorn = Path(sys.executable).parent / "gunicorn"
        self.server = subprocess.Popen(
            [str(gunicorn), "beacon.wsgi", "--workers", "2", "--bind", f"127.0.0.1:{self.port}", "--timeout", "60"],
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


REPORT = {
    "channel": "hotline", "received_at": "2026-11-20T10:30", "reporter_relationship": "public", "victim_sex": "female",
    "victim_age_group": "adult", "urgency": "priority", "narrative": "Women seen locked in a house.",
}  # fmt: skip


@pytest.mark.slow
def test_acknowledged_reports_survive_a_kill_9_mid_load():
    with tempfile.TemporaryDirectory(prefix="beacon-crash-") as tmp:
        site = Installation(Path(tmp))
        site.manage("migrate", "-v0")
        out = site.manage("shell", "-c", SETUP)
        keys = json.loads(out[out.index("KEYS") + 4 :])
        try:
            site.start()
            sessions = {name: sign_in(site.base, name, key) for name, key in keys.items()}
            acknowledged: list[int] = []
            refused: list[int] = []
            lock = threading.Lock()
            stop = threading.Event()

            def file_reports(session: requests.Session) -> None:
                form = session.get(site.base + "/reports/new/").text
                token = csrf(form)
                while not stop.is_set():
                    try:
                        response = session.post(
                            site.base + "/reports/new/", data={**REPORT, "csrfmiddlewaretoken": token},
                            allow_redirects=False, timeout=10,
                        )  # fmt: skip
                    except requests.RequestException:
                        return  # the server died under us: this write was never acknowledged
                    if response.status_code == 302:
                        match = re.search(r"/reports/(\d+)/$", response.headers["Location"])
                        assert match, response.headers["Location"]
                        with lock:
                            acknowledged.append(int(match.group(1)))
                    else:
                        refused.append(response.status_code)

            threads = [threading.Thread(target=file_reports, args=(s,)) for s in sessions.values()]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and len(acknowledged) < 40:
                time.sleep(0.05)
            site.kill()  # mid-load: the threads are still posting
            stop.set()
            for thread in threads:
                thread.join(timeout=15)
            assert len(acknowledged) >= 5, (
                f"the load should have produced acknowledged reports before the kill (refused: {refused[:5]})"
            )

            site.start()  # restarts on the same files, as a supervisor would
            assert requests.get(site.base + "/accounts/login/", timeout=5).status_code == 200
            site.stop()
            out = site.manage("shell", "-c", CHECK)
            state = json.loads(out[out.index("RESULT") + 6 :])
        finally:
            site.stop()

        missing = sorted(set(acknowledged) - set(state["reports"]))
        assert not missing, f"acknowledged reports lost after the crash: {missing}"
        assert state["reports"] == state["audited"], "every report has its audit row and every audit row its report"
        assert state["chain_ok"], state["chain_reason"]
