"""Compiling the court case file (issue #6): one PDF with a cover page, an index with page numbers, the case
summary, chronology, persons, statements, the evidence schedule (SHA-256 and custody trail), charges, court
cases and hearings, court orders, then the attachments (PDFs merged with pypdf, images embedded) in order.

Deterministic: the same data gives the same bytes. Inputs are sorted, reportlab runs in invariant mode, the
creation date is the time of the latest change to the data, and nothing about the request (who, when) is
printed. Victims and witnesses appear by pseudonym unless the officer chose to reveal identities (with a
recorded reason); suspects are named, as they are in the charges.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from xml.sax.saxutils import escape

from django.utils import timezone
from django.utils.translation import gettext as _
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import Flowable, Image, PageBreak, Paragraph, Spacer, Table, TableStyle
from reportlab.platypus.doctemplate import SimpleDocTemplate
from reportlab.platypus.tableofcontents import TableOfContents

from cases.choices import PersonRole
from cases.models import Case, CasePerson
from investigations import actions
from investigations.choices import ActionKind
from investigations.models import (
    Arrest,
    Bail,
    Charge,
    CourtCase,
    CourtOrder,
    CustodyTransfer,
    Evidence,
    Hearing,
    LogAttachment,
    LogEntry,
    VictimParticipation,
)
from utilities.storage import read_encrypted

logger = logging.getLogger(__name__)

IDENTIFIED_ROLES = {PersonRole.SUSPECT}


@dataclass
class Attachment:
    title: str
    content_type: str
    data: bytes
    pages: int = 1


class Placeholder(Flowable):
    """An empty page that the merge step replaces with page ``index`` of attachment ``key``."""

    def __init__(self, key: int, index: int, seen: dict):
        super().__init__()
        self.key, self.index, self.seen = key, index, seen

    def wrap(self, available_width, available_height):
        return (0, 0)

    def draw(self):
        self.seen[self.canv.getPageNumber()] = (self.key, self.index)


class CourtFileDoc(SimpleDocTemplate):
    def afterFlowable(self, flowable):
        level = getattr(flowable, "toc_level", None)
        if level is not None:
            self.notify("TOCEntry", (level, flowable.getPlainText(), self.page))


def _user(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else "—"


def _dt(value) -> str:
    if value is None:
        return "—"
    if hasattr(value, "hour"):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def latest_change(case: Case):
    """The time of the latest change to anything printed in the file: the PDF's creation date."""
    stamps = [case.opened_at, case.closed_at]
    for model, path in (
        (LogEntry, "case"), (Evidence, "case"), (Charge, "case"), (CourtCase, "case"), (CourtOrder, "case"),
        (Arrest, "suspect__case"), (Bail, "suspect__case"), (Hearing, "court_case__case"),
        (VictimParticipation, "victim__case"),
    ):  # fmt: skip
        stamps += list(model.objects.filter(**{path: case}).values_list("updated_at", flat=True))
    for transfer in CustodyTransfer.objects.filter(evidence__case=case):
        stamps += [transfer.created_at, transfer.acknowledged_at]
    stamps += list(LogAttachment.objects.filter(entry__case=case).values_list("created_at", flat=True))
    for link in CasePerson.objects.filter(case=case).select_related("person"):
        stamps += [link.created_at, link.person.updated_at]
    return max(s for s in stamps if s is not None)


class Builder:
    def __init__(self, case: Case, *, reveal_identity: bool, actor, progress: Callable[[int], None] | None = None):
        self.case, self.reveal, self.actor = case, reveal_identity, actor
        self.progress = progress or (lambda pct: None)
        styles = getSampleStyleSheet()
        self.body = styles["BodyText"]
        self.h1 = ParagraphStyle("H1", parent=styles["Heading1"], fontSize=16)
        self.h2 = ParagraphStyle("H2", parent=styles["Heading2"], fontSize=12)
        self.title = ParagraphStyle("CoverTitle", parent=styles["Title"], fontSize=24, spaceAfter=24)
        self.small = ParagraphStyle("Small", parent=styles["BodyText"], fontSize=8, leading=10)
        self.story: list = []
        self.broken: list[Evidence] = []

    # --- helpers -----------------------------------------------------------------------------------
    def p(self, text: str, style=None) -> None:
        self.story.append(Paragraph(escape(str(text)).replace("\n", "<br/>"), style or self.body))

    def heading(self, text: str, level: int = 0) -> None:
        para = Paragraph(escape(text), self.h1 if level == 0 else self.h2)
        para.toc_level = level
        self.story.append(para)

    def section(self, text: str) -> None:
        self.story.append(PageBreak())
        self.heading(text)

    def table(self, rows: list[list[str]], widths=None) -> None:
        data = [[Paragraph(escape(str(cell)), self.small) for cell in row] for row in rows]
        table = Table(data, colWidths=widths, repeatRows=1)
        table.setStyle(TableStyle([
            ("GRID", (0, 0), (-1, -1), 0.4, "#777777"), ("BACKGROUND", (0, 0), (-1, 0), "#e6e6e6"),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]))  # fmt: skip
        self.story += [table, Spacer(1, 0.3 * cm)]

    def name(self, link: CasePerson | None) -> str:
        if link is None:
            return "—"
        if link.role in IDENTIFIED_ROLES or self.reveal:
            full = link.person.full_name
            return f"{full} ({link.pseudonym})" if full else link.pseudonym
        return link.pseudonym

    # --- sections ------------------------------------------------------------------------------------
    def build(self) -> tuple[bytes, int]:
        case = self.case
        self.links = list(
            CasePerson.objects.filter(case=case, person__merged_into__isnull=True)
            .select_related("person")
            .order_by("role", "pseudonym", "pk")
        )
        self.log = list(
            LogEntry.objects.filter(case=case)
            .prefetch_related("officers")
            .select_related("interviewee__person")
            .order_by("occurred_on", "pk")
        )
        self.evidence = list(
            Evidence.objects.filter(case=case).select_related("seized_by", "holder").order_by("reference", "pk")
        )
        self.charges = list(
            Charge.objects.filter(case=case).select_related("suspect__person", "court_case").order_by("laid_on", "pk")
        )
        self.court_cases = list(CourtCase.objects.filter(case=case).order_by("pk"))
        self.hearings = list(
            Hearing.objects.filter(court_case__case=case).select_related("court_case").order_by("starts_at", "pk")
        )
        self.orders = list(CourtOrder.objects.filter(case=case).order_by("made_on", "pk"))
        self.arrests = list(
            Arrest.objects.filter(suspect__case=case).select_related("suspect__person").order_by("arrested_on", "pk")
        )
        self.bail = list(
            Bail.objects.filter(suspect__case=case).select_related("suspect__person").order_by("granted_on", "pk")
        )
        self.changed_at = latest_change(case)
        self.progress(10)
        attachments = self.collect_attachments()
        self.progress(40)

        self.cover()
        self.story.append(PageBreak())
        self.story.append(Paragraph(escape(_("Index")), self.h1))
        toc = TableOfContents(dotsMinLevel=0)
        toc.levelStyles = [
            ParagraphStyle("TOC0", parent=self.body, fontSize=10, leftIndent=0),
            ParagraphStyle("TOC1", parent=self.body, fontSize=9, leftIndent=18),
        ]
        self.story.append(toc)
        self.summary()
        self.chronology()
        self.persons()
        self.statements()
        self.evidence_schedule()
        self.charges_section()
        self.court_section()
        self.orders_section()
        seen: dict[int, tuple[int, int]] = {}
        if attachments:
            self.section(_("Attachments"))
        for key, item in enumerate(attachments):
            self.story.append(PageBreak())
            self.heading(_("Attachment %(n)s: %(title)s") % {"n": key + 1, "title": item.title}, 1)
            if item.content_type.startswith("image/"):
                try:
                    image = Image(io.BytesIO(item.data))
                except (OSError, ValueError):  # not a readable image: it stays in the register, not in the file
                    self.p(_("This image could not be rendered; see the original file."))
                    continue
                scale = min(1.0, (A4[0] - 4 * cm) / image.drawWidth, (A4[1] - 8 * cm) / image.drawHeight)
                image.drawWidth, image.drawHeight = image.drawWidth * scale, image.drawHeight * scale
                self.story.append(image)
            else:
                self.p(_("The %(pages)s page(s) of this document follow.") % {"pages": item.pages})
                for index in range(item.pages):
                    self.story += [PageBreak(), Placeholder(key, index, seen)]
        self.progress(60)

        buffer = io.BytesIO()
        doc = CourtFileDoc(
            buffer, pagesize=A4, invariant=1, title=_("Court case file %(ref)s") % {"ref": case.reference},
            author="Beacon", creator="Beacon", subject="", leftMargin=2 * cm, rightMargin=2 * cm,
        )  # fmt: skip
        footer = _("Court case file %(ref)s · page %%(page)s") % {"ref": case.reference}

        def on_page(canvas, document):
            canvas.saveState()
            canvas.setFont("Helvetica", 8)
            canvas.drawCentredString(A4[0] / 2, 1.2 * cm, footer % {"page": document.page})
            canvas.restoreState()

        doc.multiBuild(self.story, onFirstPage=on_page, onLaterPages=on_page)
        self.progress(85)
        return self.merge(buffer.getvalue(), attachments, seen)

    def merge(self, rendered: bytes, attachments: list[Attachment], seen: dict) -> tuple[bytes, int]:
        readers = {
            key: PdfReader(io.BytesIO(item.data))
            for key, item in enumerate(attachments)
            if item.content_type == "application/pdf"
        }
        writer = PdfWriter()
        for number, page in enumerate(PdfReader(io.BytesIO(rendered)).pages, start=1):
            if number in seen:
                key, index = seen[number]
                writer.add_page(readers[key].pages[index])
            else:
                writer.add_page(page)
        stamp = "D:" + self.changed_at.astimezone(UTC).strftime("%Y%m%d%H%M%S") + "Z"
        writer.add_metadata({
            "/Title": _("Court case file %(ref)s") % {"ref": self.case.reference}, "/Producer": "Beacon",
            "/Creator": "Beacon", "/CreationDate": stamp, "/ModDate": stamp,
        })  # fmt: skip
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue(), len(writer.pages)

    def collect_attachments(self) -> list[Attachment]:
        items: list[Attachment] = []
        for entry in self.log:
            for attachment in entry.attachments.order_by("created_at", "pk"):
                if attachment.content_type not in {
                    "application/pdf",
                    "image/png",
                    "image/jpeg",
                    "image/gif",
                    "image/webp",
                }:
                    continue
                data = read_encrypted(actions.LOG_STORE, attachment.stored_name)
                if hashlib.sha256(data).hexdigest() != attachment.sha256:
                    continue
                items.append(
                    Attachment(f"{entry.occurred_on.isoformat()} {entry.title}", attachment.content_type, data)
                )
        for evidence in self.evidence:
            if not evidence.stored_name:
                continue
            try:
                data = actions.verified_file(evidence, actor=self.actor, used_for="court_file")
            except actions.EvidenceChainBroken:
                self.broken.append(evidence)
                continue
            if evidence.content_type in {"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"}:
                items.append(
                    Attachment(
                        _("Exhibit %(ref)s: %(item)s") % {"ref": evidence.reference, "item": evidence.item},
                        evidence.content_type,
                        data,
                    )
                )
        readable = []
        for item in items:
            if item.content_type == "application/pdf":
                try:
                    item.pages = len(PdfReader(io.BytesIO(item.data)).pages)
                except (PyPdfError, ValueError):
                    logger.warning(
                        "a PDF attachment of case %s cannot be read; left out of the court file", self.case.pk
                    )
                    continue
            readable.append(item)
        return readable

    def cover(self) -> None:
        case = self.case
        self.story.append(Spacer(1, 5 * cm))
        self.story.append(Paragraph(escape(_("Court case file")), self.title))
        self.p(_("Case %(ref)s") % {"ref": case.reference}, self.h2)
        for court_case in self.court_cases:
            self.p(_("%(court)s, case number %(number)s") % {"court": court_case.court, "number": court_case.number})
        self.p(_("Compiled from the records as they stood on %(when)s.") % {"when": _dt(self.changed_at)})
        self.p(
            _("Victims' identities are revealed in this file. Handle it accordingly.")
            if self.reveal
            else _("Victims and witnesses are identified by pseudonym only.")
        )
        self.p(_("CONFIDENTIAL: contains information about survivors of human trafficking."))

    def summary(self) -> None:
        case = self.case
        self.section(_("Case summary"))
        rows = [
            [_("Field"), _("Value")],
            [_("Reference"), case.reference],
            [_("Status"), case.get_status_display()],
            [_("Trafficking status"), case.get_trafficking_status_display()],
            [_("Opened"), _dt(case.opened_at)],
            [_("Case owner"), _user(case.owner)],
            [_("Victims"), str(sum(1 for link in self.links if link.role == PersonRole.VICTIM))],
            [_("Suspects"), str(sum(1 for link in self.links if link.role == PersonRole.SUSPECT))],
            [_("Investigation actions"), str(len(self.log))],
            [_("Exhibits"), str(len(self.evidence))],
            [_("Charges"), str(len(self.charges))],
        ]
        self.table(rows, [5 * cm, 12 * cm])

    def chronology(self) -> None:
        self.section(_("Chronology"))
        events = [(self.case.opened_at.date(), 0, 0, _("Case opened"))]
        events += [(e.occurred_on, 1, e.pk, f"{e.get_kind_display()}: {e.title}") for e in self.log]
        events += [
            (a.arrested_on, 2, a.pk, _("Arrest of %(who)s") % {"who": self.name(a.suspect)}) for a in self.arrests
        ]
        events += [
            (b.granted_on, 3, b.pk, _("Bail granted to %(who)s") % {"who": self.name(b.suspect)}) for b in self.bail
        ]
        events += [
            (
                c.laid_on,
                4,
                c.pk,
                _("Charge laid against %(who)s: %(offence)s") % {"who": self.name(c.suspect), "offence": c.offence},
            )
            for c in self.charges
        ]
        events += [
            (timezone.localdate(h.starts_at), 5, h.pk, _("Hearing: %(purpose)s") % {"purpose": h.purpose})
            for h in self.hearings
        ]
        events += [
            (o.made_on, 6, o.pk, _("Court order: %(kind)s") % {"kind": o.get_kind_display()}) for o in self.orders
        ]
        events += [
            (
                c.outcome_on,
                7,
                c.pk,
                _("Outcome of charge against %(who)s: %(outcome)s")
                % {"who": self.name(c.suspect), "outcome": c.get_outcome_display()},
            )
            for c in self.charges
            if c.outcome_on
        ]
        rows = [[_("Date"), _("Event")]] + [
            [day.isoformat(), text] for day, _kind, _pk, text in sorted(events, key=lambda e: e[:3])
        ]
        self.table(rows, [3 * cm, 14 * cm])

    def persons(self) -> None:
        self.section(_("Persons"))
        rows = [[_("Role"), _("Person"), _("Age"), _("Nationality")]]
        for link in self.links:
            age = link.person.age_on(timezone.localdate(self.changed_at))
            rows.append(
                [
                    link.get_role_display(),
                    self.name(link),
                    "—" if age is None else str(age),
                    ", ".join(link.person.nationalities) or "—",
                ]
            )
        self.table(rows, [3.5 * cm, 8 * cm, 1.5 * cm, 4 * cm])
        participation = {p.victim_id: p for p in VictimParticipation.objects.filter(victim__case=self.case)}
        for link in self.links:
            part = participation.get(link.pk)
            if part is None:
                continue
            self.heading(_("Participation of %(who)s") % {"who": self.name(link)}, 1)
            self.p(
                _("Agreed to take part: %(answer)s (%(date)s)")
                % {"answer": part.get_agreed_display(), "date": _dt(part.agreed_on)}
            )
            self.p(_("Special measures: %(list)s") % {"list": ", ".join(sorted(part.special_measures)) or "—"})

    def statements(self) -> None:
        self.section(_("Statements"))
        interviews = [e for e in self.log if e.kind == ActionKind.INTERVIEW]
        if not interviews:
            self.p(_("No interviews recorded."))
        for entry in interviews:
            self.heading(f"{entry.occurred_on.isoformat()} · {entry.title}", 1)
            officers = ", ".join(sorted(_user(u) for u in entry.officers.all())) or "—"
            self.p(
                _("Person interviewed: %(who)s. Officers: %(officers)s.")
                % {"who": self.name(entry.interviewee), "officers": officers}
            )
            if entry.interpreter_used:
                self.p(_("Interpreter used (%(language)s).") % {"language": entry.interpreter_language or "—"})
            self.p(entry.outcome or "—")

    def evidence_schedule(self) -> None:
        self.section(_("Evidence schedule"))
        if not self.evidence:
            self.p(_("No exhibits recorded."))
        broken = {e.pk for e in self.broken}
        for evidence in self.evidence:
            self.heading(f"{evidence.reference} · {evidence.item}", 1)
            rows = [
                [_("Field"), _("Value")],
                [_("Description"), evidence.description or "—"],
                [_("Where found"), evidence.found_at or "—"],
                [_("Seized by"), _user(evidence.seized_by)],
                [_("Seized at"), _dt(evidence.seized_at)],
                [_("Storage location"), evidence.storage_location or "—"],
                [_("Current custodian"), _user(evidence.holder)],
                [_("SHA-256"), evidence.sha256 or _("no digital file")],
            ]
            if evidence.pk in broken or evidence.broken_at:
                rows.append([_("Integrity"), _("EVIDENCE CHAIN BROKEN: the stored file does not match its SHA-256.")])
            elif evidence.sha256:
                rows.append([_("Integrity"), _("File verified against its SHA-256 when this file was compiled.")])
            self.table(rows, [4 * cm, 13 * cm])
            trail = [[_("When"), _("From"), _("To"), _("Why"), _("Receipt acknowledged")]]
            for t in evidence.transfers.select_related("from_user", "to_user").order_by("handed_at", "pk"):
                trail.append(
                    [
                        _dt(t.handed_at),
                        _user(t.from_user),
                        _user(t.to_user),
                        t.reason,
                        _dt(t.acknowledged_at) if t.acknowledged_at else _("NOT acknowledged"),
                    ]
                )
            if len(trail) > 1:
                self.p(_("Custody trail"), self.h2)
                self.table(trail, [3 * cm, 3 * cm, 3 * cm, 5 * cm, 3 * cm])

    def charges_section(self) -> None:
        self.section(_("Charges"))
        rows = [
            [
                _("Suspect"),
                _("Offence"),
                _("Statutory reference"),
                _("Laid"),
                _("Outcome"),
                _("Sentence / compensation / appeal"),
            ]
        ]
        for c in self.charges:
            extra = "; ".join(
                x
                for x in [
                    c.sentence,
                    f"{_('compensation')} {c.compensation}" if c.compensation is not None else "",
                    c.get_appeal_display(),
                ]
                if x
            )
            rows.append(
                [self.name(c.suspect), c.offence, c.statute, c.laid_on.isoformat(), c.get_outcome_display(), extra]
            )
        self.table(rows, [3 * cm, 3 * cm, 3.5 * cm, 2 * cm, 2 * cm, 3.5 * cm])

    def court_section(self) -> None:
        self.section(_("Court cases and hearings"))
        for court_case in self.court_cases:
            self.heading(f"{court_case.court} · {court_case.number}", 1)
            self.p(_("Prosecutor: %(who)s") % {"who": court_case.prosecutor or "—"})
            rows = [[_("Date and time"), _("Court"), _("Purpose"), _("Outcome")]]
            rows += [
                [_dt(h.starts_at), h.court, h.purpose, h.outcome or "—"]
                for h in self.hearings
                if h.court_case_id == court_case.pk
            ]
            self.table(rows, [3.5 * cm, 4 * cm, 4 * cm, 5.5 * cm])

    def orders_section(self) -> None:
        self.section(_("Court orders"))
        rows = [[_("Kind"), _("Made on"), _("Expires on"), _("Terms")]]
        rows += [[o.get_kind_display(), _dt(o.made_on), _dt(o.expires_on), o.terms] for o in self.orders]
        self.table(rows, [3.5 * cm, 2.5 * cm, 2.5 * cm, 8.5 * cm])


def build_court_file(
    case: Case, *, reveal_identity: bool, actor=None, progress=None
) -> tuple[bytes, int, list[Evidence]]:
    builder = Builder(case, reveal_identity=reveal_identity, actor=actor, progress=progress)
    data, pages = builder.build()
    return data, pages, builder.broken
