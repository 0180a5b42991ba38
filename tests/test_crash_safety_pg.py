"""Crash safety with the database killed (issue #10, "Nothing lost"), on PostgreSQL.

Intake officers file reports and the Head of Investigations records victim decisions (each opens a case with its
victim, profile, owner and two audit rows in one transaction) through a real gunicorn, from several threads. In
the middle of the load the PostgreSQL postmaster is killed with SIGKILL and restarted (crash recovery), then one
backend serving the application is killed with SIGKILL (PostgreSQL resets every backend and recovers by itself).
Afterwards every write the server acknowledged is present with its audit row, no report or case is half-written,
the audit chain verifies, writes sent while the database was down got errors rather than acknowledgements, and the
same gunicorn workers served before and after (the application reconnects by itself: CONN_HEALTH_CHECKS).

The database is a private PostgreSQL cluster in a temporary directory on its own loopback port (fsync on), never
the shared server. Its schema is copied from the suite's own migrated test database (a full ``migrate`` of a new
database takes about a minute here); ``tests.base.restore_reference_data`` then puts back the reference rows.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import requests
from django.conf import settings

from tests.crashkit import REPORT, Installation, children, csrf, free_port, marked_json, sign_in

ON_POSTGRESQL = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not ON_POSTGRESQL, reason="runs in the PostgreSQL leg of CI (.ci/run)"),
    pytest.mark.django_db,  # the suite's test database must exist: its schema is copied (nothing is written to it)
]

OFFICERS = 3
SCREENINGS = 16  # screened reports waiting for a decision: one case each (the setup costs ~0.5 s per screening)

SETUP = r"""
import json
from django.db import transaction
from django.utils import timezone
from directory.choices import AgencyKind, OrganisationType
from intake import actions as intake
from screening.actions import record_screening
from tests.base import give_totp, make_agency, make_user, restore_reference_data

@transaction.atomic  # one commit for the whole setup: a commit per action costs seconds on a busy disk
def setup():
    restore_reference_data()
    ctu = make_agency("Counter Trafficking Unit", "CTU", AgencyKind.CTU, OrganisationType.CENTRAL_GOVERNMENT, home=True)
    hoi = make_user("hoi", ctu, "head_of_investigations")
    make_user("director", ctu, "director")
    investigator = make_user("investigator", ctu, "investigator")
    keys = {"hoi": give_totp(hoi).key}
    officers = [make_user(f"intake{n}", ctu, "intake_officer") for n in range(OFFICERS)]
    keys.update({officer.username: give_totp(officer).key for officer in officers})
    answers = {"recruitment": True, "deception": True, "forced_labour": True}
    evidence = {"recruitment": "job advert", "deception": "pay lied about", "forced_labour": "no wages"}
    screenings = []
    for n in range(SCREENINGS):
        report = intake.create_report(actor=officers[0], channel="hotline", received_at=timezone.now(), narrative="Workers kept in a compound.")
        intake.assign_report(report, actor=hoi, version=report.version, investigator=investigator)
        report.refresh_from_db()
        intake.acknowledge_report(report, actor=investigator, version=report.version)
        report.refresh_from_db()
        screening = record_screening(report, actor=investigator, version=report.version, person_label=f"Person {n}", person_age=30, age_basis="stated", answers=answers, evidence=evidence)
        screenings.append(screening.pk)
    return {"keys": keys, "screenings": screenings}

print("SETUP" + json.dumps(setup()))
""".replace("SCREENINGS", str(SCREENINGS)).replace("OFFICERS", str(OFFICERS))

CHECK = r"""
import json
from audit.models import AuditEvent
from audit.verify import verify_chain
from cases.models import Case, CaseMember, CasePerson, Person, VictimProfile
from intake.models import Report
from screening.models import Decision

def audited(action):
    return sorted(int(pk) for pk in AuditEvent.objects.filter(action=action).values_list("object_id", flat=True))

cases = {}
for case in Case.objects.select_related("report", "decision"):
    victims = CasePerson.objects.filter(case=case, role="victim")
    cases[case.pk] = {
        "reference": bool(case.reference), "report_status": case.report.status, "outcome": case.decision.outcome,
        "owner": CaseMember.objects.filter(case=case, user_id=case.owner_id, role="owner").count(),
        "victims": victims.count(), "profiles": VictimProfile.objects.filter(case_person__in=victims).count(),
    }
chain = verify_chain()
print("RESULT" + json.dumps({
    "reports": sorted(Report.objects.values_list("pk", flat=True)), "reports_audited": audited("intake.report_created"),
    "cases": cases, "cases_audited": audited("cases.case_opened"),
    "decisions": sorted(Decision.objects.values_list("pk", flat=True)), "decisions_audited": audited("screening.decision_recorded"),
    "decided_without_case": sorted(Decision.objects.filter(case__isnull=True).values_list("pk", flat=True)),
    "persons": Person.objects.count(), "unlinked_persons": Person.objects.filter(case_links__isnull=True).count(),
    "chain_ok": chain.ok, "chain_reason": chain.reason,
}))
"""

DECISION = {"outcome": "victim_identified", "rationale": "All three elements.", "deciding_org": "Police"}


def postgres_bin() -> Path:
    """The newest PostgreSQL server binaries installed (Debian: /usr/lib/postgresql/<major>/bin)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        pytest.fail("no PostgreSQL server binaries under /usr/lib/postgresql (Debian's postgresql package)")
    return found[-1].parent


def alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class PrivateCluster:
    """A PostgreSQL cluster of the test's own: fsync on (the default), trust authentication on loopback, its socket
    in the temporary directory. As root the server binaries run as the ``postgres`` user (initdb refuses root)."""

    def __init__(self, root: Path):
        self.bin = postgres_bin()
        self.root = root
        self.data = root / "pgdata"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/beacon"
        self.postmaster: subprocess.Popen | None = None
        if os.geteuid() == 0:
            shutil.chown(root, "postgres")

    def command(self, name: str, *args: str) -> list[str]:
        argv = [str(self.bin / name), *args]
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv

    def init(self) -> None:
        # --no-sync only skips initdb's final flush of the empty cluster; the server itself runs with fsync on.
        result = subprocess.run(
            self.command("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"),
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, f"initdb failed:\n{result.stdout}\n{result.stderr}"
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.root}'\n"
                "fsync = on\nsynchronous_commit = on\nfull_page_writes = on\nrestart_after_crash = on\n"
                # Crash recovery first flushes the data directory: one syncfs() instead of an fsync() per file
                # (seconds here), with the same guarantee (PostgreSQL 14+ on Linux).
                "recovery_init_sync_method = syncfs\nshared_buffers = 32MB\nmax_connections = 40\n"
            )

    def start(self) -> None:
        """Start the postmaster (crash recovery when it was killed) and wait until it accepts connections. After a
        kill the old backends may hold the shared memory for a moment: the postmaster refuses to start until then."""
        deadline = time.monotonic() + 60
        while True:
            log = (self.root / "postgres.log").open("a")
            self.postmaster = subprocess.Popen(
                self.command("postgres", "-D", str(self.data)), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
            log.close()
            while self.postmaster.poll() is None and time.monotonic() < deadline:
                if self.ready():
                    return
                time.sleep(0.1)
            if time.monotonic() >= deadline:
                self.stop()
                raise AssertionError(f"PostgreSQL did not start:\n{self.log_tail()}")
            time.sleep(0.3)  # it exited: try again once the killed backends are gone

    def ready(self, dbname: str = "postgres") -> bool:
        try:
            with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, connect_timeout=2):
                return True
        except psycopg.Error:
            return False

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True, connect_timeout=5)

    def log_tail(self) -> str:
        path = self.root / "postgres.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-20:]) if path.exists() else ""

    def log_size(self) -> int:
        path = self.root / "postgres.log"
        return path.stat().st_size if path.exists() else 0

    def wait_for_log(self, text: str, offset: int) -> None:
        deadline = time.monotonic() + 30
        with (self.root / "postgres.log").open("rb") as log:
            log.seek(offset)
            seen = b""
            while text.encode() not in seen:
                assert time.monotonic() < deadline, f"PostgreSQL never logged {text!r}:\n{self.log_tail()}"
                time.sleep(0.05)
                seen += log.read()

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def kill_postmaster(self) -> None:
        """SIGKILL the postmaster (pid from postmaster.pid) and wait until its backends have exited as well:
        from then on nothing can commit."""
        pid = self.postmaster_pid()
        backends = children(pid)
        os.kill(pid, signal.SIGKILL)
        self.postmaster.wait(timeout=10)
        deadline = time.monotonic() + 30
        while any(alive(p) for p in backends | {pid}):
            assert time.monotonic() < deadline, "the backends of the killed postmaster did not exit"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.postmaster is None or self.postmaster.poll() is not None:
            return
        try:
            pid = self.postmaster_pid()
            os.kill(pid, signal.SIGQUIT)  # immediate shutdown: the cluster is thrown away
        except (OSError, ValueError):
            pid = None
        try:
            self.postmaster.wait(timeout=15)
        except subprocess.TimeoutExpired:
            if pid:
                os.kill(pid, signal.SIGKILL)
            self.postmaster.wait(timeout=10)


def copy_schema(cluster: PrivateCluster, root: Path) -> None:
    """Create ``beacon`` in the private cluster with the schema of the suite's migrated test database, and the rows
    ``migrate`` itself writes (applied migrations, content types, permissions)."""
    from django.db import connection

    source = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": source["PASSWORD"] or "", "PGCONNECT_TIMEOUT": "10"}
    target = ["-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres"]
    where = ["-h", source["HOST"] or "127.0.0.1", "-p", str(source["PORT"] or 5432), "-U", source["USER"] or "postgres"]
    dump = root / "schema.sql"
    for args in (
        ["--schema-only"],
        ["--data-only", "-t", "django_migrations", "-t", "django_content_type", "-t", "auth_permission"],
    ):
        with dump.open("a") as out:
            result = subprocess.run(
                [str(cluster.bin / "pg_dump"), "--no-owner", "--no-privileges", *where, *args, source["NAME"]],
                stdout=out, stderr=subprocess.PIPE, text=True, env=env, timeout=120,
            )  # fmt: skip
        assert result.returncode == 0, f"pg_dump of the suite's test database failed:\n{result.stderr}"
    for args in (["-d", "postgres", "-c", "CREATE DATABASE beacon"], ["-d", "beacon", "-1", "-f", str(dump)]):
        result = subprocess.run(
            [str(cluster.bin / "psql"), "-q", "-v", "ON_ERROR_STOP=1", *target, *args],
            capture_output=True, text=True, env=env, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, f"psql {args[-1][:40]} failed:\n{result.stderr}"


@dataclass
class Write:
    kind: str  # "report" or "case"
    started: float
    ended: float
    status: int | None  # None: no answer (connection error or timeout)
    pk: int | None = None


class Load:
    """Officers posting through the real pages until told to stop, each write recorded with its timing."""

    def __init__(self, base: str):
        self.base = base
        self.writes: list[Write] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.pending: list[int] = []

    def record(self, write: Write) -> None:
        with self.lock:
            self.writes.append(write)
        if write.pk is None:
            time.sleep(0.1)  # the database is away: do not spin

    def post(self, kind: str, session: requests.Session, url: str, data: dict, acknowledged: str) -> Write:
        started = time.monotonic()
        try:
            response = session.post(self.base + url, data=data, allow_redirects=False, timeout=20)
        except requests.RequestException:
            write = Write(kind, started, time.monotonic(), None)
        else:
            write = Write(kind, started, time.monotonic(), response.status_code)
            if response.status_code == 302:
                match = re.fullmatch(acknowledged, response.headers["Location"])
                assert match, f"a {kind} write was redirected to {response.headers['Location']}"
                write.pk = int(match.group(1))
        self.record(write)
        return write

    def file_reports(self, session: requests.Session) -> None:
        token = csrf(session.get(self.base + "/reports/new/").text)
        while not self.stop.is_set():
            self.post("report", session, "/reports/new/", {**REPORT, "csrfmiddlewaretoken": token}, r"/reports/(\d+)/")

    def open_cases(self, session: requests.Session, screenings: list[int]) -> None:
        """Record a victim decision on each screening: one transaction opens the case with its people."""
        pending = self.pending = list(screenings)
        while pending and not self.stop.is_set():
            try:
                page = session.get(f"{self.base}/screening/{pending[0]}/", timeout=20)
            except requests.RequestException:
                page = None
            if page is None or page.status_code != 200:
                time.sleep(0.1)  # the database is away: the page (and the write) comes later
                continue
            screening = pending.pop(0)
            version = re.search(r'name="version" value="(\d+)"', page.text)
            assert version, "the screening page should offer the decision form"
            data = {**DECISION, "version": version.group(1), "csrfmiddlewaretoken": csrf(page.text)}
            if self.post("case", session, f"/screening/{screening}/", data, r"/cases/(\d+)/").pk:
                time.sleep(0.3)  # a few cases in every phase rather than all of them in the first

    def start(self, sessions: dict[str, requests.Session], screenings: list[int]) -> None:
        for name, session in sessions.items():
            if name == "hoi":
                self.threads.append(threading.Thread(target=self.open_cases, args=(session, screenings)))
            else:
                self.threads.append(threading.Thread(target=self.file_reports, args=(session,)))
        for thread in self.threads:
            thread.daemon = True  # a failed assertion must not leave them posting forever
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def acknowledged(self, kind: str, since: float = 0.0) -> list[int]:
        with self.lock:
            return [w.pk for w in self.writes if w.kind == kind and w.pk is not None and w.started >= since]

    def wait_for(self, reports: int, cases: int, since: float, what: str) -> None:
        deadline = time.monotonic() + 30
        while len(self.acknowledged("report", since)) < reports or (
            self.pending and len(self.acknowledged("case", since)) < cases
        ):
            assert time.monotonic() < deadline, f"{what}: {self.summary(since)}"
            time.sleep(0.05)

    def wait_for_answers(self, count: int, since: float, what: str) -> None:
        """Until ``count`` writes sent after ``since`` have been answered (or have failed)."""
        deadline = time.monotonic() + 30
        while len(self.between(since, time.monotonic())) < count:
            assert time.monotonic() < deadline, f"{what}: {self.summary(since)}"
            time.sleep(0.05)

    def between(self, start: float, end: float) -> list[Write]:
        with self.lock:
            return [w for w in self.writes if start <= w.started and w.ended <= end]

    def overlapping(self, start: float, end: float) -> list[Write]:
        with self.lock:
            return [w for w in self.writes if w.started <= end and w.ended >= start]

    def summary(self, since: float = 0.0) -> str:
        with self.lock:
            writes = [w for w in self.writes if w.started >= since]
        statuses: dict[str, int] = {}
        for w in writes:
            statuses[f"{w.kind} {w.status}"] = statuses.get(f"{w.kind} {w.status}", 0) + 1
        return ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())) or "no writes"


def failed(write: Write) -> bool:
    return write.status is None or write.status >= 500


def test_acknowledged_writes_survive_postgresql_killed_mid_load():
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="beacon-pgcrash-") as tmp:
        root = Path(tmp)
        cluster = PrivateCluster(root)
        site = load = None
        try:
            cluster.init()
            cluster.start()
            copy_schema(cluster, root)
            site = Installation(root, cluster.url)
            setup = marked_json(site.manage("shell", "-c", SETUP), "SETUP")
            site.start("--threads", "2")  # as deploy/systemd/beacon-web.service runs it
            workers = site.workers()
            sessions = {name: sign_in(site.base, name, key) for name, key in setup["keys"].items()}
            load = Load(site.base)
            load.start(sessions, setup["screenings"])

            # Phase 1: the postmaster dies mid-load. It stays down until three writes sent after its death have been
            # answered, then restarts on the same files (crash recovery).
            load.wait_for(reports=15, cases=2, since=0.0, what="load before the postmaster kill")
            cluster.kill_postmaster()
            down = time.monotonic()
            load.wait_for_answers(3, since=down, what="writes should be answered while the database is down")
            restarting = time.monotonic()
            cluster.start()
            up = time.monotonic()
            load.wait_for(reports=10, cases=1, since=up, what="the application should reconnect after the restart")

            # Phase 2: one backend serving the application dies: the postmaster ends every backend, recovers and
            # accepts connections again by itself (restart_after_crash).
            with cluster.connect() as monitor:
                rows = monitor.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = 'beacon' AND backend_type = 'client backend' "
                    "AND pid <> pg_backend_pid() ORDER BY state = 'idle', backend_start"
                ).fetchall()
            assert rows, "the application should hold connections to the database"
            log_size = cluster.log_size()
            backend_killed = time.monotonic()
            os.kill(rows[0][0], signal.SIGKILL)
            cluster.wait_for_log("all server processes terminated; reinitializing", log_size)
            while not cluster.ready("beacon"):
                assert time.monotonic() < backend_killed + 60, f"PostgreSQL did not recover:\n{cluster.log_tail()}"
                time.sleep(0.05)
            recovered = time.monotonic()
            load.wait_for(reports=10, cases=1, since=recovered, what="the application should reconnect after the reset")
            load.finish()

            # Neither crash needed the application restarted: the same processes reconnected by themselves.
            assert site.server.poll() is None and site.workers() == workers, (
                "the same gunicorn workers should have served before and after both crashes"
            )
            site.stop()
            state = marked_json(site.manage("shell", "-c", CHECK), "RESULT")
        finally:
            if load:
                load.finish()
            if site:
                site.stop()
            cluster.stop()
        log = (root / "postgres.log").read_text(errors="replace")

    reports, cases = set(load.acknowledged("report")), set(load.acknowledged("case"))
    outage = load.between(down, restarting)
    reset = load.overlapping(backend_killed, recovered)
    print(
        f"\nacknowledged: {len(reports)} reports, {len(cases)} cases; present: {len(reports & set(state['reports']))}"
        f" reports, {len(cases & {int(pk) for pk in state['cases']})} cases; postmaster down {restarting - down:.1f}s:"
        f" {len(outage)} writes, {sum(map(failed, outage))} errors; backend kill to recovery {recovered - backend_killed:.1f}s:"
        f" {sum(map(failed, reset))} of {len(reset)} writes failed; all writes: {load.summary()}; {time.monotonic() - began:.0f}s"
    )

    assert "database system was interrupted" in log or "was not properly shut down" in log, "crash recovery ran"
    assert "terminating any other active server processes" in log, "the backend kill reset the server"

    assert outage and all(map(failed, outage)), (
        f"writes sent while the database was down must fail, never be acknowledged: {[w for w in outage if not failed(w)]}"
    )
    missing = sorted(reports - set(state["reports"]))
    assert not missing, f"acknowledged reports lost after the crashes: {missing}"
    missing = sorted(cases - {int(pk) for pk in state["cases"]})
    assert not missing, f"acknowledged cases lost after the crashes: {missing}"

    assert state["reports"] == state["reports_audited"], "every report has its audit row and every audit row its report"
    assert sorted(int(pk) for pk in state["cases"]) == state["cases_audited"], "every case has its audit row"
    assert state["decisions"] == state["decisions_audited"], "every decision has its audit row"
    assert not state["decided_without_case"], "a victim decision never stands without the case it opens"
    for pk, case in state["cases"].items():
        assert case == {
            "reference": True, "report_status": "case_opened", "outcome": "victim_identified", "owner": 1, "victims": 1,
            "profiles": 1,
        }, f"case {pk} is half-written: {case}"  # fmt: skip
    assert state["persons"] == len(state["cases"]) and not state["unlinked_persons"], "no person outside a case"
    assert state["chain_ok"], state["chain_reason"]
