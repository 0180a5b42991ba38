"""Background compilation of the court case file (issue #6), run by `manage.py beacon_worker`.

Idempotent: a court file already ready (or being compiled by another worker) is left alone."""

from __future__ import annotations

import hashlib
import logging
import uuid

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from investigations.choices import CourtFileStatus
from investigations.models import CourtFile

logger = logging.getLogger(__name__)


def compile_now(court_file_id: int) -> bool:
    from alerts.actions import notify
    from audit import log as audit
    from investigations.actions import COURT_FILE_STORE
    from investigations.courtfile import build_court_file
    from utilities.storage import store_encrypted

    if not CourtFile.objects.filter(pk=court_file_id, status=CourtFileStatus.QUEUED).update(
        status=CourtFileStatus.RUNNING, progress=1
    ):
        return False
    court_file = CourtFile.objects.select_related("case", "requested_by").get(pk=court_file_id)

    def progress(pct: int) -> None:
        CourtFile.objects.filter(pk=court_file_id).update(progress=pct)

    try:
        data, pages, broken = build_court_file(
            court_file.case,
            reveal_identity=court_file.reveal_identity,
            actor=court_file.requested_by,
            progress=progress,
        )
    except Exception:
        logger.exception("court file %s failed", court_file_id)
        CourtFile.objects.filter(pk=court_file_id).update(
            status=CourtFileStatus.FAILED, error="compilation failed", finished_at=timezone.now()
        )
        notify(
            [court_file.requested_by],
            event="investigation.court_file_failed",
            message=_("The court case file of case %(ref)s could not be compiled.")
            % {"ref": court_file.case.reference},
        )
        return False
    stored_name = uuid.uuid4().hex
    store_encrypted(COURT_FILE_STORE, stored_name, data)
    digest = hashlib.sha256(data).hexdigest()
    with transaction.atomic():
        CourtFile.objects.filter(pk=court_file_id).update(
            status=CourtFileStatus.READY, progress=100, stored_name=stored_name, sha256=digest, size=len(data), pages=pages,
            finished_at=timezone.now(), options={**court_file.options, "broken_exhibits": sorted(e.reference for e in broken)},
        )  # fmt: skip
        audit.record(
            "investigations.court_file_compiled",
            obj=court_file.case,
            details={"court_file_id": court_file_id, "sha256": digest, "pages": pages},
        )
        notify(
            [court_file.requested_by],
            event="investigation.court_file_ready",
            message=_("The court case file of case %(ref)s is ready.") % {"ref": court_file.case.reference},
            link=reverse("investigations:court_file", args=[court_file.case_id]),
        )
    return True


@task()
def compile_court_file(court_file_id: int) -> bool:
    return compile_now(court_file_id)
