"""Two real Beacon instances talking to each other over loopback HTTP (issue #9).

Trinidad and Tobago's unit (A, "TT-CTU") asks Venezuela's (B, "VE-CTU") for information; B reviews the
request, discloses part of what was asked and replies; A receives the answer. Each instance is its own server
process with its own database, secrets and cooperation keys; they trust each other only through the peers
registered with `coop_add_peer`. Then a tampered envelope and replays are posted to B's inbox and refused, and
both audit logs are checked to hold the whole exchange (and still verify).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Run inside each instance with `manage.py shell -c`; the last line printed is JSON for the test to read.
SETUP = """
import json
from accounts.models import Role, User
from accounts.roles import sync_roles
from cooperation.keys import instance_keys
from directory.choices import AgencyKind, OrganisationType
from directory.models import Agency
sync_roles()
unit = Agency.objects.create(name="Counter Trafficking Unit", short_name="CTU", kind=AgencyKind.CTU,
                             org_type=OrganisationType.CENTRAL_GOVERNMENT, is_home_unit=True)
officer = User.objects.create_user(username="officer", password="correct horse battery staple 42", agency=unit)
officer.roles.set(Role.objects.filter(code="head_of_investigations"))
keys = instance_keys()
print(json.dumps({"signing_key": keys.signing_public, "encryption_key": keys.encryption_public}))
"""

SEND_REQUEST = """
import json
from django.core.management import call_command
from accounts.models import User
from cooperation import actions
from cooperation.models import Peer
req = actions.create_request(
    actor=User.objects.get(username="officer"), peer=Peer.objects.get(instance_id="VE-CTU"),
    case_reference="TT-2026-0042", asked="Criminal record and travel of a recruiter called Ramon Quintero.",
    asked_items=["criminal_record", "travel"], legal_basis="UNTOC art. 18 and 27", urgency="urgent",
)
call_command("beacon_worker", "--once", verbosity=0)
message = req.messages.get()
print(json.dumps({"exchange_id": str(req.exchange_id), "msg_id": str(message.msg_id), "delivery": message.delivery,
                  "status": req.status}))
"""

REPLY = """
import json
from django.core.management import call_command
from accounts.models import User
from cooperation import actions
from cooperation.models import CoopRequest
officer = User.objects.get(username="officer")
req = CoopRequest.objects.get(direction="incoming")
seen = {"status": req.status, "asked": req.asked, "items": req.asked_items, "case_reference": req.case_reference,
        "exchange_id": str(req.exchange_id), "peer": req.peer.instance_id}
req = actions.start_review(req, actor=officer, version=req.version)
req = actions.reply_to_request(req, actor=officer, version=req.version, disclosed_items=["criminal_record"],
                               text="Convicted of smuggling in 2021; no travel records can be shared.")
call_command("beacon_worker", "--once", verbosity=0)
seen["deliveries"] = sorted(req.messages.filter(direction="outgoing").values_list("kind", "delivery"))
print(json.dumps(seen))
"""

# A's view of the answer; then envelopes for the tampering and replay checks against B's inbox: a fresh
# request (never sent), and the request already delivered sealed again with its original message id.
AFTER_REPLY = """
import json
from cooperation import envelope, protocol
from cooperation.models import CoopRequest, Peer
req = CoopRequest.objects.get(direction="outgoing")
reply = req.messages.get(kind="reply")
b = Peer.objects.get(instance_id="VE-CTU")
fresh = CoopRequest(exchange_id="0c4b8a36-3f5e-4a4e-9d51-1f2b6c7d8e90", case_reference="TT-2026-0043",
                    asked="Another question", asked_items=[], legal_basis="UNTOC art. 18", urgency="routine")
resend = envelope.seal(json.loads(req.messages.get(kind="request").body), peer=b, msg_id=str(req.messages.get(kind="request").msg_id))
print(json.dumps({
    "status": req.status, "reply": json.loads(reply.body),
    "kinds": sorted(req.messages.values_list("direction", "kind")),
    "fresh": envelope.seal(protocol.request_body(fresh), peer=b, msg_id="6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"),
    "resend": resend,
}))
"""

LOG = """
import json
from audit.models import AuditEvent
from audit.verify import verify_chain
from cooperation.models import CoopRequest, SeenMessage
rows = AuditEvent.objects.filter(action__startswith="cooperation.").order_by("id")
print(json.dumps({
    "events": [[e.action, e.details.get("peer", ""), e.details.get("msg_id", ""), e.details.get("kind", e.details.get("reason", ""))] for e in rows],
    "requests": CoopRequest.objects.count(), "seen": sorted(str(s) for s in SeenMessage.objects.values_list("msg_id", flat=True)),
    "chain_ok": verify_chain().ok,
}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Instance:
    def __init__(self, name: str, instance_id: str, tmp: Path):
        self.name, self.instance_id = name, instance_id
        self.dir = tmp / name
        self.dir.mkdir()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: subprocess.Popen | None = None
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BEACON_", "DJANGO_")) and k not in
               {"DATABASE_URL", "SECRET_KEY", "ALLOWED_HOSTS", "MEDIA_ROOT", "PYTEST_CURRENT_TEST"}}  # fmt: skip
        env.update(
            BEACON_ENV="test", BEACON_VAR_DIR=str(self.dir), DATABASE_URL=f"sqlite:///{self.dir / 'beacon.sqlite3'}",
            MEDIA_ROOT=str(self.dir / "media"), BEACON_INSTANCE_ID=instance_id, BEACON_SITE_URL=self.url,
            BEACON_COOP_KEY_FILE=str(self.dir / "coop-keys.json"), ALLOWED_HOSTS="127.0.0.1,localhost",
            BEACON_COOP_SEND_TIMEOUT_SECONDS="10", PYTHONUNBUFFERED="1",
        )  # fmt: skip
        self.env = env

    @property
    def database(self) -> Path:
        return self.dir / "beacon.sqlite3"

    def manage(self, *args: str) -> str:
        result = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120
        )
        if result.returncode:
            raise AssertionError(f"{self.name}: manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def shell(self, script: str) -> dict:
        return json.loads(self.manage("shell", "-c", script).strip().splitlines()[-1])

    def start(self) -> None:
        log = open(self.dir / "server.log", "w")  # noqa: SIM115 - closed with the process
        self.server = subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", "runserver", "--noreload", "--nothreading", f"127.0.0.1:{self.port}"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.server_log = log

    def wait_ready(self, seconds: float = 45) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise AssertionError(f"{self.name} server exited:\n{(self.dir / 'server.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise AssertionError(f"{self.name} server did not start:\n{(self.dir / 'server.log').read_text()}")

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait(timeout=10)
        if self.server is not None:
            self.server_log.close()

    def post_inbox(self, body: dict | bytes) -> int:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}/cooperation/inbox/", data=data, method="POST",
                                         headers={"Content-Type": "application/json"})  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code


def flip(text: str) -> str:
    """The same base64 value with one bit of its first byte flipped."""
    import base64

    raw = bytearray(base64.b64decode(text))
    raw[0] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


class TwoInstancesTests(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="beacon-coop-"))
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.a = Instance("a", "TT-CTU", self.tmp)
        self.b = Instance("b", "VE-CTU", self.tmp)
        # Servers are stopped even when the test fails half-way (cleanups run after a failed setUp too).
        self.addCleanup(self.a.stop)
        self.addCleanup(self.b.stop)

    def test_request_and_reply_between_two_instances(self):
        # Migrating takes most of the time: do it once and give B a copy of the empty, migrated database (it
        # holds nothing encrypted or audited yet, so B's own secrets apply from its first row).
        self.a.manage("migrate", "--noinput", "-v", "0")
        shutil.copy(self.a.database, self.b.database)
        self.a.start()
        self.b.start()
        with ThreadPoolExecutor(max_workers=2) as pool:
            keys = dict(zip("ab", pool.map(lambda inst: inst.shell(SETUP), (self.a, self.b)), strict=True))
            self.assertNotEqual(keys["a"], keys["b"])
            # Each administrator registers the other unit with the keys received out of band.
            registered = pool.map(
                lambda pair: pair[0].manage(
                    "coop_add_peer", pair[1].instance_id, f"Unit {pair[1].instance_id}", pair[1].instance_id[:2],
                    f"{pair[1].url}/cooperation/inbox/", keys[pair[1].name]["signing_key"], keys[pair[1].name]["encryption_key"],
                ),
                ((self.a, self.b), (self.b, self.a)),
            )  # fmt: skip
            self.assertEqual(
                [out.strip() for out in registered],
                ["Registered VE-CTU (Unit VE-CTU).", "Registered TT-CTU (Unit TT-CTU)."],
            )
        self.a.wait_ready()
        self.b.wait_ready()

        # A asks; its worker delivers the request to B's inbox.
        sent = self.a.shell(SEND_REQUEST)
        self.assertEqual((sent["status"], sent["delivery"]), ("sent", "delivered"))

        # B sees the request as A wrote it, reviews it and replies with part of what was asked.
        seen = self.b.shell(REPLY)
        self.assertEqual(seen["status"], "received")
        self.assertEqual(seen["peer"], "TT-CTU")
        self.assertEqual(seen["exchange_id"], sent["exchange_id"])
        self.assertEqual(seen["case_reference"], "TT-2026-0042")
        self.assertIn("Ramon Quintero", seen["asked"])
        self.assertEqual(seen["items"], ["criminal_record", "travel"])
        self.assertEqual(seen["deliveries"], [["acknowledgement", "delivered"], ["reply", "delivered"]])

        # A has the answer.
        after = self.a.shell(AFTER_REPLY)
        self.assertEqual(after["status"], "answered")
        self.assertEqual(after["reply"]["disclosed_items"], ["criminal_record"])
        self.assertEqual(after["reply"]["text"], "Convicted of smuggling in 2021; no travel records can be shared.")
        self.assertEqual(
            after["kinds"], [["incoming", "acknowledgement"], ["incoming", "reply"], ["outgoing", "request"]]
        )

        # Tampering with any part of a genuine envelope gets it refused, and nothing of it is stored.
        fresh = after["fresh"]
        for field, value in (("ciphertext", flip(fresh["ciphertext"])), ("from", "CO-CTU"),
                             ("sent_at", (datetime.fromisoformat(fresh["sent_at"]) - timedelta(seconds=1)).isoformat()),
                             ("nonce", flip(fresh["nonce"]))):  # fmt: skip
            with self.subTest(tampered=field):
                tampered = dict(fresh, **{field: value})
                self.assertNotEqual(tampered, fresh)
                self.assertIn(self.b.post_inbox(tampered), (400, 401))
        self.assertEqual(self.b.post_inbox(b"{not json"), 400)
        log_b = self.b.shell(LOG)
        self.assertEqual(log_b["requests"], 1)
        self.assertNotIn(fresh["msg_id"], log_b["seen"])

        # Replays: the request A already delivered, sealed again with its message id, and an exact copy of an
        # envelope B has just accepted.
        self.assertEqual(self.b.post_inbox(after["resend"]), 409)
        self.assertEqual(self.b.post_inbox(fresh), 202)
        self.assertEqual(self.b.post_inbox(fresh), 409)

        # Both audit logs hold the exchange (peer and message ids, no content) and still verify.
        log_a, log_b = self.a.shell(LOG), self.b.shell(LOG)
        self.assertTrue(log_a["chain_ok"])
        self.assertTrue(log_b["chain_ok"])
        actions_a = [e[0] for e in log_a["events"]]
        self.assertEqual(
            actions_a,
            ["cooperation.peer_added", "cooperation.request_created", "cooperation.request_sent",
             "cooperation.message_delivered", "cooperation.message_received", "cooperation.message_received"],
        )  # fmt: skip
        self.assertIn(["cooperation.message_delivered", "VE-CTU", sent["msg_id"], "request"], log_a["events"])
        self.assertIn(["cooperation.message_received", "TT-CTU", sent["msg_id"], "request"], log_b["events"])
        received_by_a = {e[2] for e in log_a["events"] if e[0] == "cooperation.message_received"}
        delivered_by_b = {e[2] for e in log_b["events"] if e[0] == "cooperation.message_delivered"}
        self.assertEqual(received_by_a, delivered_by_b)
        self.assertEqual(len(received_by_a), 2)
        actions_b = [e[0] for e in log_b["events"]]
        for action in ("cooperation.review_started", "cooperation.replied"):
            self.assertIn(action, actions_b)
        refusals = [(e[1], e[3]) for e in log_b["events"] if e[0] == "cooperation.message_refused"]
        self.assertEqual(
            refusals,
            [("TT-CTU", "bad_signature"), ("", "unknown_sender"), ("TT-CTU", "bad_signature"), ("TT-CTU", "bad_signature"),
             ("", "not_json"), ("TT-CTU", "replayed"), ("TT-CTU", "replayed")],
        )  # fmt: skip
        self.assertNotIn("Quintero", json.dumps([log_a, log_b]))
