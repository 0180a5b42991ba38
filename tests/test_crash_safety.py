"""Crash safety (issue #10, "Nothing lost"): intake officers file reports through a real server from several
threads; the server is killed with SIGKILL in the middle of the load, then restarted. Every report whose creation
the server acknowledged must be there, with its audit row, no report may exist without its audit row (nothing
half-written), and the audit chain must verify.

Runs gunicorn (two workers) against a SQLite file in WAL mode with IMMEDIATE transactions, as configured for
small installations. Everything runs in its own processes, on a loopback port, with its own database.
"""

from __future__ import annotations

import re
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.crashkit import REPORT, Installation, csrf, marked_json, sign_in

OFFICERS = 4

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


@pytest.mark.slow
def test_acknowledged_reports_survive_a_kill_9_mid_load():
    with tempfile.TemporaryDirectory(prefix="beacon-crash-") as tmp:
        site = Installation(Path(tmp), f"sqlite:///{Path(tmp) / 'beacon.sqlite3'}")
        site.manage("migrate", "-v0")
        out = site.manage("shell", "-c", SETUP)
        keys = marked_json(out, "KEYS")
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
            state = marked_json(out, "RESULT")
        finally:
            site.stop()

        missing = sorted(set(acknowledged) - set(state["reports"]))
        assert not missing, f"acknowledged reports lost after the crash: {missing}"
        assert state["reports"] == state["audited"], "every report has its audit row and every audit row its report"
        assert state["chain_ok"], state["chain_reason"]
