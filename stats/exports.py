"""A built report leaving the unit (issue #8): CSV, XLSX and PDF of exactly the tables shown on screen, with
the small-cell rule applied (1 to 4 printed "<5", ``settings.STATS_SMALL_CELL``) to every count, totals
included. Spreadsheet cells are defused (``utilities.spreadsheet``). Counts only, no personal data.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from django.utils import timezone
from django.utils.translation import gettext as _

from stats.builder import shown, small_cell
from utilities.spreadsheet import csv_lines, defuse

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def filename(report: dict, fmt: str) -> str:
    dims = "-".join(d for d in (report["rows_dim"], report["columns_dim"], report["series_dim"]) if d)
    return f"beacon-{report['measure']}{'-' + dims if dims else ''}-{timezone.localdate():%Y%m%d}.{fmt}"


def suppression_note() -> str:
    return _('Counts from 1 to %(last)s are shown as "<%(n)s" to protect the people counted.') % {
        "last": small_cell() - 1,
        "n": small_cell(),
    }


def header_lines(report: dict) -> list[str]:
    lines = [report["measure_label"], report["period"]]
    if report["filters_text"]:
        lines.append(_("Filters: %(filters)s") % {"filters": "; ".join(report["filters_text"])})
    lines.append(suppression_note())
    return lines


def panel_matrix(report: dict, panel: dict, *, suppress: bool = True) -> list[list]:
    """One panel as rows of cells: a header row, a row per group, the totals row."""
    head = [report["rows_label"] or report["measure_label"]]
    if panel["columns"]:
        head += panel["columns"]
    head.append(_("Total"))
    out = [head]
    for row in panel["rows"]:
        out.append(
            [row["label"], *[shown(v, suppress=suppress) for v in row["cells"]], shown(row["total"], suppress=suppress)]
        )
    out.append(
        [
            _("Total"),
            *[shown(v, suppress=suppress) for v in panel["totals"]["cells"]],
            shown(panel["totals"]["total"], suppress=suppress),
        ]
    )
    return out


def matrix(report: dict, *, suppress: bool = True) -> list[list]:
    out: list[list] = [[line] for line in header_lines(report)]
    for panel in report["panels"]:
        out.append([])
        if report["series_dim"]:
            out.append([f"{report['series_label']}: {panel['title']}"])
        if report["columns_dim"]:
            out.append(["", report["columns_label"]])
        out += panel_matrix(report, panel, suppress=suppress)
    return out


def to_csv(report: dict) -> bytes:
    return "".join(csv_lines(matrix(report))).encode("utf-8")


def to_xlsx(report: dict) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = str(_("Report"))[:31]
    bold = Font(bold=True)
    for i, row in enumerate(matrix(report), start=1):
        ws.append([defuse(cell) for cell in row])
        if i == 1:
            ws.cell(row=1, column=1).font = bold
    ws.column_dimensions["A"].width = 32
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _pdf_chart(report: dict, panel: dict):
    """A bar chart of the panel's row totals; suppressed counts are not drawn (their bar would tell)."""
    from reportlab.graphics.charts.barcharts import HorizontalBarChart
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors

    rows = panel["rows"][:30]
    if not rows:
        return None
    values = [0 if isinstance(shown(r["total"], suppress=True), str) else r["total"] for r in rows]
    height = 30 + 14 * len(rows)
    drawing = Drawing(480, height)
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 150, 10, 310, height - 20
    chart.data = [list(reversed(values))]
    chart.categoryAxis.categoryNames = [r["label"][:32] for r in reversed(rows)]
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 7
    chart.bars[0].fillColor = colors.HexColor("#0072B2")
    drawing.add(chart)
    return drawing


def to_pdf(report: dict) -> bytes:
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=7, leading=9)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=landscape(A4), title=report["measure_label"], invariant=1,
                            leftMargin=1.5 * cm, rightMargin=1.5 * cm, topMargin=1.5 * cm, bottomMargin=1.5 * cm)  # fmt: skip
    story = [Paragraph(escape(report["measure_label"]), styles["Title"])]
    for line in header_lines(report)[1:]:
        story.append(Paragraph(escape(line), styles["BodyText"]))
    if report["description"]:
        story.append(Paragraph(escape(report["description"]), styles["Italic"]))
    for panel in report["panels"]:
        story.append(Spacer(1, 0.4 * cm))
        if report["series_dim"]:
            story.append(Paragraph(escape(f"{report['series_label']}: {panel['title']}"), styles["Heading2"]))
        if report["columns_dim"]:
            story.append(Paragraph(escape(_("Columns: %(dim)s") % {"dim": report["columns_label"]}), small))
        data = [[Paragraph(escape(str(cell)), small) for cell in row] for row in panel_matrix(report, panel)]
        table = Table(data, repeatRows=1)
        table.setStyle(TableStyle([
            ("GRID", (0, 0), (-1, -1), 0.4, "#777777"), ("BACKGROUND", (0, 0), (-1, 0), "#e6e6e6"),
            ("BACKGROUND", (0, -1), (-1, -1), "#f2f2f2"), ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]))  # fmt: skip
        story += [table, Spacer(1, 0.3 * cm)]
        drawing = _pdf_chart(report, panel)
        if drawing is not None:
            story += [
                drawing,
                Paragraph(
                    escape(_("Bars show the totals; counts under %(n)s are not drawn.") % {"n": small_cell()}), small
                ),
            ]
    doc.build(story)
    return buf.getvalue()


RENDERERS = {"csv": to_csv, "xlsx": to_xlsx, "pdf": to_pdf}


def render(report: dict, fmt: str) -> bytes:
    return RENDERERS[fmt](report)
