"""Attachments in S3-compatible object storage (issue #11), against a real S3 HTTP server on loopback (moto's
ThreadedMotoServer): Beacon talks to it over HTTP exactly as it would to MinIO, Ceph or Amazon S3.

What an operator relies on: an attachment uploaded through the page lands in the bucket encrypted, downloads
through the access-checked view, is removed from the bucket when retention deletes it, is in the backup and comes
back with a restore into another bucket, and /readyz says "not ready" when the object store is down.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import boto3
import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client, SimpleTestCase, TestCase, override_settings
from django.urls import reverse
from moto.server import ThreadedMotoServer

from cases.models import CaseAttachment
from tests import test_backup as drill
from tests.base import BeaconTestCase
from tests.factories import make_case
from utilities import storage
from utilities.backup import BackupError, create_backup, restore_backup
from utilities.crypto import decrypt_bytes, encrypt_bytes

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"SECRET-PIXELS-OF-A-SURVIVOR" * 20
ACCESS_KEY, SECRET_KEY = "beacon-test-key", "beacon-test-secret"  # noqa: S105 - the local test server's


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class S3Server:
    """One moto S3 server on a free loopback port, and a client of our own to look inside its buckets."""

    def __init__(self):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        # The server's own request log would fill the test output; its errors still show.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        self.client = boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
        )  # fmt: skip

    def stop(self) -> None:
        self.server.stop()

    def new_bucket(self) -> str:
        name = f"beacon-{secrets.token_hex(6)}"
        self.client.create_bucket(Bucket=name)
        return name

    def objects(self, bucket: str) -> dict[str, bytes]:
        listing = self.client.list_objects_v2(Bucket=bucket).get("Contents", [])
        return {o["Key"]: self.client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listing}

    def settings(self, bucket: str, prefix: str = "beacon/") -> dict:
        return {
            "BEACON_STORAGE": "s3",
            "BEACON_S3": {
                "ENDPOINT_URL": self.endpoint, "BUCKET": bucket, "REGION": "us-east-1", "ACCESS_KEY_ID": ACCESS_KEY,
                "SECRET_ACCESS_KEY": SECRET_KEY, "PREFIX": prefix, "CA_BUNDLE": "",
            },
        }  # fmt: skip

    def environment(self, bucket: str, prefix: str) -> dict[str, str]:
        return {
            "BEACON_STORAGE": "s3", "BEACON_S3_ENDPOINT_URL": self.endpoint, "BEACON_S3_BUCKET": bucket,
            "BEACON_S3_REGION": "us-east-1", "BEACON_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "BEACON_S3_SECRET_ACCESS_KEY": SECRET_KEY, "BEACON_S3_PREFIX": prefix,
        }  # fmt: skip


class S3Mixin:
    @classmethod
    def setUpClass(cls):
        cls.s3 = S3Server()
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.s3.stop()

    def use_bucket(self, bucket: str | None = None) -> str:
        bucket = bucket or self.s3.new_bucket()
        media = tempfile.TemporaryDirectory()
        self.addCleanup(media.cleanup)
        self.media = Path(media.name)
        override = override_settings(MEDIA_ROOT=media.name, **self.s3.settings(bucket))
        override.enable()
        self.addCleanup(override.disable)
        return bucket


class S3AttachmentTests(S3Mixin, BeaconTestCase):
    def setUp(self):
        self.bucket = self.use_bucket()
        self.case = make_case(owner=self.investigator)
        client = self.client_for("investigator")
        response = client.post(
            reverse("cases:attachment_add", args=[self.case.pk]),
            {"upload": SimpleUploadedFile("passport-photo.png", PNG, content_type="image/png"), "kind": "photo"},
        )
        self.assertEqual(response.status_code, 302)
        self.attachment = CaseAttachment.objects.get(case=self.case)
        name = self.attachment.stored_name
        self.key = f"beacon/case-attachments/{name[:2]}/{name}"

    def download(self, user: str):
        url = reverse("cases:attachment_download", args=[self.case.pk, self.attachment.pk])
        return self.client_for(user).get(url)

    def test_upload_is_encrypted_in_the_bucket_and_downloads_through_the_checked_view(self):
        objects = self.s3.objects(self.bucket)
        self.assertEqual(list(objects), [self.key])
        stored = objects[self.key]
        # The object store holds ciphertext only: neither the image's header nor its content can be read there.
        self.assertNotIn(b"SECRET-PIXELS", stored)
        self.assertNotIn(PNG[:8], stored)
        self.assertEqual(decrypt_bytes(stored), PNG)
        # Nothing went to the local disk.
        self.assertEqual([p for p in self.media.rglob("*") if p.is_file()], [])
        # Private: the only grant is the bucket owner's; nothing for AllUsers or AuthenticatedUsers.
        grants = self.s3.client.get_object_acl(Bucket=self.bucket, Key=self.key)["Grants"]
        self.assertEqual([g["Permission"] for g in grants], ["FULL_CONTROL"])
        self.assertNotIn("URI", grants[0]["Grantee"])

        response = self.download("investigator")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, PNG)
        self.assertTrue(response["Content-Disposition"].startswith("attachment;"))
        # Someone in another agency cannot see the case, so the file does not exist for them.
        self.assertEqual(self.download("other_investigator").status_code, 404)

    def test_key_rotation_and_sweeps_can_walk_a_kind_in_the_bucket(self):
        name = self.attachment.stored_name
        self.assertEqual([n for n, _modified in storage.stored_names("case-attachments")], [name])
        self.assertEqual(list(storage.stored_names("attachments")), [])
        token = storage.read_token("case-attachments", name)
        self.assertEqual(token, self.s3.objects(self.bucket)[self.key])
        new_key = Fernet.generate_key().decode()
        with override_settings(FIELD_ENCRYPTION_KEYS=[new_key, *settings.FIELD_ENCRYPTION_KEYS]):
            storage.write_token("case-attachments", name, encrypt_bytes(decrypt_bytes(token)))
        with override_settings(FIELD_ENCRYPTION_KEYS=[new_key]):
            self.assertEqual(storage.read_encrypted("case-attachments", name), PNG)

    def test_reencrypt_rotates_the_objects_in_the_bucket(self):
        """`manage.py reencrypt` walks the bucket, not MEDIA_ROOT: after it, the old key can be dropped."""
        import io

        from django.core.management import call_command

        new_key = Fernet.generate_key().decode()
        with override_settings(FIELD_ENCRYPTION_KEYS=[new_key, *settings.FIELD_ENCRYPTION_KEYS]):
            call_command("reencrypt", stdout=io.StringIO())
        with override_settings(FIELD_ENCRYPTION_KEYS=[new_key]):
            self.assertEqual(storage.read_encrypted("case-attachments", self.attachment.stored_name), PNG)

    def test_an_export_archive_in_the_bucket_is_downloaded_once_and_swept_when_stale(self):
        from datetime import timedelta

        from django.utils import timezone

        from exchange import actions as exchange

        archive = exchange.Archive(b"PK-zip-bytes", "pw", "beacon-htcds.zip", "", 1)
        digest = hashlib.sha256(archive.content).hexdigest()
        name = exchange.keep_archive(archive)
        self.assertEqual(exchange.take_archive(name, actor=self.director, sha256=digest), archive.content)
        # Gone from the bucket, and a second download (another worker, another host) gets nothing.
        self.assertFalse([k for k in self.s3.objects(self.bucket) if "/exports/" in k or name in k])
        self.assertIsNone(exchange.take_archive(name, actor=self.director, sha256=digest))
        stale = exchange.keep_archive(archive)
        self.assertEqual(exchange.sweep_archives(now=timezone.now() + timedelta(days=1)), 1)
        self.assertIsNone(exchange.take_archive(stale, actor=self.director, sha256=digest))

    def test_retention_deletion_removes_the_object(self):
        storage.delete_encrypted("case-attachments", self.attachment.stored_name)
        self.assertEqual(self.s3.objects(self.bucket), {})
        # Deleting what is already gone is not an error (a retention run retried after a crash).
        storage.delete_encrypted("case-attachments", self.attachment.stored_name)

    def test_a_missing_object_gives_a_clear_error(self):
        self.s3.client.delete_object(Bucket=self.bucket, Key=self.key)
        with self.assertRaises(storage.StoredFileMissing) as raised:
            storage.read_encrypted("case-attachments", self.attachment.stored_name)
        self.assertIsInstance(raised.exception, FileNotFoundError)
        self.assertEqual(
            str(raised.exception),
            f"Stored file {self.key.removeprefix('beacon/')} is not in the object store.",
        )

    def test_a_missing_bucket_gives_a_clear_error(self):
        with override_settings(**self.s3.settings("no-such-bucket")):
            with self.assertRaises(storage.StorageUnavailable) as raised:
                storage.store_encrypted("case-attachments", "ab" * 16, b"x")
        self.assertIn("no bucket 'no-such-bucket'", str(raised.exception))


class S3BackupRefusalTests(S3Mixin, TestCase):
    def test_backup_and_restore_refuse_an_unusable_bucket_before_doing_anything(self):
        self.use_bucket("no-such-bucket")
        with tempfile.TemporaryDirectory() as tmp:
            output = Path(tmp) / "x.beacon-backup"
            with self.assertRaisesMessage(BackupError, "The object store has no bucket 'no-such-bucket'"):
                create_backup(output)
            self.assertEqual(list(Path(tmp).iterdir()), [])
            # The store is checked before the archive is even opened, so the database is never touched.
            with self.assertRaisesMessage(BackupError, "The object store has no bucket 'no-such-bucket'"):
                restore_backup(Path(tmp) / "not-read.beacon-backup")


class S3ReadinessTests(S3Mixin, TestCase):
    databases = {"default", "replica"}

    def test_readiness_heads_the_bucket_and_fails_when_the_store_is_down(self):
        self.use_bucket()
        response = Client().get(reverse("readyz"))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["checks"]["media"], "ok")

        with override_settings(**self.s3.settings("no-such-bucket")):
            response = Client().get(reverse("readyz"))
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.json()["checks"]["media"], "fail")

        # A second server that is stopped: connection refused, the check fails, and says nothing of the endpoint.
        other = S3Server()
        bucket = other.new_bucket()
        with override_settings(**other.settings(bucket)):
            self.assertEqual(Client().get(reverse("readyz")).status_code, 200)
            other.stop()
            with self.assertLogs("beacon.views", "WARNING") as logs:
                response = Client().get(reverse("readyz"))
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.json()["checks"]["media"], "fail")
        self.assertEqual(response.json()["checks"]["database"], "ok")
        self.assertNotIn(str(other.port), response.content.decode())
        self.assertEqual(logs.output, ["WARNING:beacon.views:readiness check media failed: StorageUnavailable"])


def settings_error(**environ: str) -> str:
    """Import the settings in a fresh process with ``environ`` and return the error it stops with ('' if none)."""
    keys = {
        "SECRET_KEY": secrets.token_urlsafe(50), "BEACON_FIELD_KEYS": Fernet.generate_key().decode(),
        "BEACON_AUDIT_KEY": secrets.token_urlsafe(40), "BEACON_BLIND_INDEX_KEY": secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "beacon.example.org",
    }  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BEACON_", "DATABASE_URL", "SECRET_KEY"))}
    env.update(BEACON_ENV="production", **keys, **environ)
    result = subprocess.run(
        [sys.executable, "-c", "import beacon.settings"], cwd=settings.BASE_DIR, env=env,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return result.stderr.strip().splitlines()[-1] if result.returncode else ""


class ProductionSettingsTests(SimpleTestCase):
    def test_production_refuses_s3_without_its_bucket_and_credentials(self):
        self.assertEqual(
            settings_error(BEACON_STORAGE="s3", BEACON_S3_ENDPOINT_URL="https://objects.internal"),
            "django.core.exceptions.ImproperlyConfigured: BEACON_STORAGE=s3 refuses to start without: "
            "BEACON_S3_BUCKET, BEACON_S3_ACCESS_KEY_ID, BEACON_S3_SECRET_ACCESS_KEY. Set each variable, or "
            "NAME_FILE pointing to a file holding it (see docs/operator-guide.md).",
        )
        complete = {
            "BEACON_STORAGE": "s3", "BEACON_S3_BUCKET": "beacon", "BEACON_S3_ACCESS_KEY_ID": "id",
            "BEACON_S3_SECRET_ACCESS_KEY": "secret",
        }  # fmt: skip
        self.assertEqual(settings_error(**complete, BEACON_S3_ENDPOINT_URL="https://objects.internal"), "")
        self.assertIn(
            "must use https:// in production",
            settings_error(**complete, BEACON_S3_ENDPOINT_URL="http://objects.internal:9000"),
        )


class S3BackupTests(S3Mixin, SimpleTestCase):
    """`manage.py backup` with BEACON_STORAGE=s3 streams the bucket's objects into the archive; `manage.py restore`
    puts them into the configured bucket (here another one), and every attachment decrypts as uploaded. Each step
    runs in its own process, on the database vendor this test run uses."""

    @pytest.mark.slow
    def test_backup_and_restore_round_trip_through_the_bucket(self):
        source, target = self.s3.new_bucket(), self.s3.new_bucket()
        with tempfile.TemporaryDirectory(prefix="beacon-s3-drill-") as tmp:
            root = Path(tmp)
            databases = self.databases_for(root)
            src = drill.Site(root, "src", databases[0])
            dst = drill.Site(root, "dst", databases[1])
            src.env.update(self.s3.environment(source, "live/"))
            dst.env.update(self.s3.environment(target, "restored/"))
            src.manage("migrate", "-v0")
            src.manage("shell", "-c", drill.SEED)
            before = src.inspect()
            self.assertEqual(len(before["attachments"]), 3)
            originals = self.s3.objects(source)
            self.assertEqual(len(originals), 3)
            self.assertTrue(all(key.startswith("live/case-attachments/") for key in originals))

            archive = root / "s3.beacon-backup"
            backup = src.manage("backup", str(archive))
            self.assertIn("3 media files", backup.stdout)

            restored = dst.manage("restore", str(archive))
            self.assertIn("3 media files", restored.stdout)
            self.assertIn("audit chain is intact", restored.stdout)
            after = dst.inspect()
            self.assertEqual(after, before)
            self.assertTrue(all(expected == actual for expected, actual in after["attachments"]))
            # The very same encrypted objects, under the target's prefix.
            self.assertEqual(
                self.s3.objects(target), {"restored/" + k.removeprefix("live/"): v for k, v in originals.items()}
            )

    def databases_for(self, root: Path) -> tuple[str, str]:
        if connection.vendor != "postgresql":
            return f"sqlite:///{root / 'src.sqlite3'}", f"sqlite:///{root / 'dst.sqlite3'}"
        suffix = secrets.token_hex(4)
        names = (f"beacon_s3_src_{suffix}", f"beacon_s3_dst_{suffix}")
        for name in names:
            drill.psql(f"CREATE DATABASE {name}")
            self.addCleanup(drill.psql, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        return tuple(f"postgres://postgres@127.0.0.1:5432/{name}" for name in names)
