"""Key rotation (issue #4): re-encrypt every encrypted value and attachment file with the first key of
BEACON_FIELD_KEYS.

Rotation: put the new key first (``BEACON_FIELD_KEYS=new,old``), restart, run ``manage.py reencrypt``, then
remove the old key. Values already under the first key are left alone, so the command can be interrupted and
run again. Each row is rewritten only if it has not changed since it was read (compare-and-set on the
ciphertext), so it is safe while Beacon is in use.
"""

from __future__ import annotations

import time
from collections import Counter

from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from audit import log as audit
from utilities.crypto import EncryptedTextField, fernet

ATTACHMENT_KINDS = ("attachments", "case-attachments")


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field and attachment file with the first key of BEACON_FIELD_KEYS."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, **options):
        self.verbose = options["verbosity"] > 0
        self.batch_size = max(1, options["batch_size"])
        self.current = Fernet(settings.FIELD_ENCRYPTION_KEYS[0].encode())
        self.all_keys = fernet()
        self.failures: Counter = Counter()
        started = time.monotonic()
        rows = sum(self.reencrypt_model(model, fields) for model, fields in encrypted_models())
        files = sum(self.reencrypt_files(kind) for kind in ATTACHMENT_KINDS)
        failed = sum(self.failures.values())
        audit.record("crypto.reencrypted", details={"rows": rows, "files": files, "failed": failed})
        self.stdout.write(
            self.style.SUCCESS(f"Re-encrypted {rows} rows and {files} files in {time.monotonic() - started:.1f}s.")
        )
        if failed:
            for where, count in sorted(self.failures.items()):
                self.stderr.write(f"{where}: {count} value(s) could not be decrypted with any key")
            raise CommandError(
                "Some values could not be decrypted with any key of BEACON_FIELD_KEYS; they were left as they are."
            )

    def rotate(self, token: bytes, where: str) -> bytes | None:
        """The token under the first key, or None when it is already under it (or undecryptable)."""
        try:
            self.current.decrypt(token)
            return None
        except InvalidToken:
            pass
        try:
            return self.all_keys.rotate(token)
        except InvalidToken:
            self.failures[where] += 1
            return None

    def reencrypt_model(self, model, fields) -> int:
        qn = connection.ops.quote_name
        table, pk = qn(model._meta.db_table), qn(model._meta.pk.column)
        columns = [f.column for f in fields]
        select = f"SELECT {pk}, {', '.join(qn(c) for c in columns)} FROM {table}"  # noqa: S608 - names from the model  # nosec B608
        total = model._base_manager.count()
        label = model._meta.label
        done = changed = 0
        last = None
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                if last is None:
                    cursor.execute(f"{select} ORDER BY {pk} LIMIT %s", [self.batch_size])
                else:
                    cursor.execute(f"{select} WHERE {pk} > %s ORDER BY {pk} LIMIT %s", [last, self.batch_size])
                batch = cursor.fetchall()
                if not batch:
                    break
                for row in batch:
                    updates = []
                    for column, value in zip(columns, row[1:], strict=True):
                        if not value:
                            continue
                        new = self.rotate(value.encode("ascii"), f"{label}.{column}")
                        if new is not None:
                            updates.append((column, value, new.decode("ascii")))
                    if updates:
                        sets = ", ".join(f"{qn(c)} = %s" for c, _old, _new in updates)
                        same = " AND ".join(f"{qn(c)} = %s" for c, _old, _new in updates)
                        cursor.execute(
                            f"UPDATE {table} SET {sets} WHERE {pk} = %s AND {same}",  # noqa: S608  # nosec B608 - quoted model names, values bound
                            [n for _c, _o, n in updates] + [row[0]] + [o for _c, o, _n in updates],
                        )
                        changed += cursor.rowcount
                last = batch[-1][0]
                done += len(batch)
            if self.verbose:
                self.stdout.write(f"{label}: {done}/{total} rows read, {changed} re-encrypted")
        return changed

    def reencrypt_files(self, kind: str) -> int:
        """Every stored file of ``kind``, on disk or in the object store (utilities.storage), under the new key."""
        from utilities.storage import read_token, stored_names, write_token

        names = [name for name, _modified in stored_names(kind)]
        changed = 0
        for n, name in enumerate(names, 1):
            new = self.rotate(read_token(kind, name), f"{kind} files")
            if new is not None:
                write_token(kind, name, new)
                changed += 1
            if self.verbose and (n % self.batch_size == 0 or n == len(names)):
                self.stdout.write(f"{kind}: {n}/{len(names)} files read, {changed} re-encrypted")
        return changed


def encrypted_models():
    """Every concrete model with encrypted fields, found by field type (a new model is never forgotten)."""
    for model in apps.get_models():
        meta = model._meta
        if meta.proxy or not meta.managed:
            continue
        fields = [f for f in meta.local_concrete_fields if isinstance(f, EncryptedTextField)]
        if fields:
            yield model, fields
