"""The formal-notice letter (mise en demeure) as an A4 PDF, ready to print or to send by electronic registered mail.

Layout here, wording in the template `fr/_letter.formal_notice.j2` (one Jinja block per part of the letter; the
owner may override it in TEMPLATES_DIR). The letter is always in French: it is a French legal document.

Fonts: fpdf2's built-in Helvetica with the Windows-1252 encoding, which covers French accents, the € sign,
typographic apostrophes and « guillemets », so no font file is shipped and no system font is read. Characters
outside Windows-1252 (in a client name, say) are transliterated or replaced by "?" rather than breaking the PDF.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fpdf import FPDF, FontFace, XPos, YPos

from messages.context import DraftContext
from messages.formatting import format_amount, format_short_date

if TYPE_CHECKING:
    from messages.render import Renderer

LETTER_TEMPLATE = "fr/_letter.formal_notice.j2"
LETTER_BLOCKS = (
    "place_date",
    "mention",
    "object",
    "salutation",
    "intro",
    "table_headers",
    "computation_title",
    "computation",
    "computation_note",
    "demand",
    "legal",
    "payment",
    "consequence",
    "amicable",
    "closing",
    "signature",
    "signature_hint",
    "sender_ids",
)
#: Page geometry, in millimetres (A4 portrait).
MARGIN = 20.0
RECIPIENT_X = 110.0  # a French window envelope (DL, window on the right)
RECIPIENT_Y = 45.0
BODY_SIZE = 10.0
LINE = 5.0
_ENCODING = "windows-1252"
#: Latin letters that Unicode does not decompose into a base letter plus an accent.
_NO_DECOMPOSITION = str.maketrans({"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i", "Ŧ": "T"})


def pdf_text(text: str) -> str:
    """`text` restricted to Windows-1252: narrow spaces become no-break spaces, other characters are
    transliterated (ł -> l) or replaced by "?"."""
    text = text.replace("\u202f", "\u00a0").replace("\u2009", " ")
    try:
        text.encode(_ENCODING)
        return text
    except UnicodeEncodeError:
        pass
    out = []
    for char in text.translate(_NO_DECOMPOSITION):
        try:
            char.encode(_ENCODING)
            out.append(char)
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode("ascii")
            out.append(base or "?")
    return "".join(out)


def letter_filename(ctx: DraftContext) -> str:
    """ "mise-en-demeure-F-2026-042.pdf" (file-name-safe; "-et-autres" when several invoices)."""
    number = re.sub(r"[^A-Za-z0-9_-]+", "-", ctx.first.number).strip("-")[:40] or "facture"
    return f"mise-en-demeure-{number}{'-et-autres' if ctx.several else ''}.pdf"


def letter_parts(ctx: DraftContext, renderer: Renderer | None = None) -> dict[str, str]:
    """The rendered text of every block of the letter template."""
    from messages.render import TemplateError, default_renderer

    tmpl = (renderer or default_renderer())._template(LETTER_TEMPLATE)
    context = tmpl.new_context({"ctx": ctx, "subject": ""})
    parts = {}
    for name in LETTER_BLOCKS:
        block = tmpl.blocks.get(name)
        if block is None:
            raise TemplateError(f"the letter template must define the block '{name}'", filename=tmpl.filename)
        parts[name] = "".join(block(context)).strip()
    return parts


class _Letter(FPDF):
    """FPDF with a discreet page footer."""

    footer_text = ""

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("Helvetica", size=7.5)
        self.set_text_color(120, 120, 120)
        suffix = f"  -  {self.page_no()}/{{nb}}"
        text = self.footer_text
        # One line that must fit between the margins: shorten the description, never the page number.
        while text and self.get_string_width(text + "..." + suffix) > self.epw - 10:
            text = text[: max(0, len(text) - 10)]
        if text != self.footer_text:
            text += "..."
        self.cell(0, 4, text + suffix, align="C")
        self.set_text_color(0, 0, 0)


def render_formal_notice_pdf(ctx: DraftContext, renderer: Renderer | None = None) -> bytes:
    """The formal-notice letter of `ctx` as PDF bytes (A4, French)."""
    parts = letter_parts(ctx, renderer)
    sender = ctx.sender
    pdf = _Letter(orientation="P", unit="mm", format="A4")
    pdf.core_fonts_encoding = _ENCODING
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=22)
    pdf.set_creation_date(datetime(ctx.today.year, ctx.today.month, ctx.today.day, tzinfo=UTC))
    pdf.set_title(pdf_text(parts["object"]))
    pdf.set_author(pdf_text(sender.name))
    pdf.footer_text = pdf_text(f"{sender.name} - {parts['object']}")
    pdf.alias_nb_pages()
    pdf.add_page()

    # Sender block, top left.
    pdf.set_font("Helvetica", "B", 11)
    _para(pdf, _short(sender.name, 120), width=85, align="L")
    pdf.set_font("Helvetica", size=9)
    for line in [*sender.address_lines, parts["sender_ids"], sender.phone, sender.email]:
        if line:
            _para(pdf, _short(line, 80), width=85, height=4.2, align="L")

    # Recipient block, in the envelope window.
    pdf.set_xy(RECIPIENT_X, max(pdf.get_y() + 4, RECIPIENT_Y))
    pdf.set_font("Helvetica", "B", 10.5)
    _para(pdf, _short(ctx.client_name, 120), width=pdf.w - MARGIN - RECIPIENT_X, x=RECIPIENT_X, align="L")
    pdf.set_font("Helvetica", size=10)
    recipient_lines = [p.strip() for p in ctx.client_address.splitlines() if p.strip()] or (
        [ctx.client_email] if ctx.client_email else []
    )
    for line in recipient_lines[:6]:
        _para(pdf, _short(line, 80), width=pdf.w - MARGIN - RECIPIENT_X, x=RECIPIENT_X, align="L")

    # Place and date, mention, object.
    pdf.set_y(max(pdf.get_y() + 10, 78))
    pdf.set_font("Helvetica", size=BODY_SIZE)
    pdf.cell(0, LINE, pdf_text(parts["place_date"]), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", BODY_SIZE)
    _para(pdf, parts["mention"], align="L")
    pdf.ln(2)
    _para(pdf, parts["object"], align="L")
    pdf.ln(4)
    pdf.set_font("Helvetica", size=BODY_SIZE)
    _para(pdf, parts["salutation"])
    pdf.ln(2)
    _paragraphs(pdf, parts["intro"])

    _invoice_table(pdf, ctx, parts["table_headers"].split("|"))

    if ctx.b2b or parts["computation_note"]:
        pdf.set_font("Helvetica", "B", 9.5)
        _para(pdf, parts["computation_title"])
        pdf.set_font("Helvetica", size=8.5)
        for line in parts["computation"].splitlines():
            if line.strip():
                _para(pdf, line.strip(), height=4.2, align="L")
        _paragraphs(pdf, parts["computation_note"], height=4.2)
        pdf.set_font("Helvetica", size=BODY_SIZE)
        pdf.ln(1)

    for name in ("demand", "legal", "payment", "consequence", "amicable", "closing"):
        _paragraphs(pdf, parts[name])

    # Signature, on the right; keep it with the closing formula.
    if pdf.get_y() > pdf.h - 50:
        pdf.add_page()
    pdf.ln(4)
    pdf.set_x(RECIPIENT_X)
    _para(pdf, parts["signature"], width=pdf.w - MARGIN - RECIPIENT_X, x=RECIPIENT_X, align="L")
    pdf.ln(16)
    pdf.set_font("Helvetica", "I", 8.5)
    pdf.set_text_color(120, 120, 120)
    _para(pdf, parts["signature_hint"], width=pdf.w - MARGIN - RECIPIENT_X, x=RECIPIENT_X, align="L")
    pdf.set_text_color(0, 0, 0)
    return bytes(pdf.output())


def _para(
    pdf: FPDF, text: str, *, width: float = 0, height: float = LINE, x: float | None = None, align: str = "J"
) -> None:
    if x is not None:
        pdf.set_x(x)
    pdf.multi_cell(width, height, pdf_text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align=align)


def _short(text: str, limit: int) -> str:
    """At most `limit` characters (a postal block has little room)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _paragraphs(pdf: FPDF, text: str, *, height: float = LINE) -> None:
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        if paragraph.strip():
            # Join wrapped template lines; str.split() would also eat the no-break spaces inside amounts.
            _para(pdf, re.sub(r"[ \t\r\n]+", " ", paragraph.strip()), height=height)
            pdf.ln(2.5)


def _invoice_table(pdf: FPDF, ctx: DraftContext, headers: Sequence[str]) -> None:
    b2b = ctx.b2b
    ncols = 8 if b2b else 6
    headers = list(headers)[:ncols]
    widths = (30, 21, 21, 25, 23, 15, 19, 17)[:ncols]
    align = ("LEFT", "CENTER", "CENTER", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT")[:ncols]
    pdf.ln(1)
    pdf.set_font("Helvetica", size=8.5)
    with pdf.table(
        col_widths=widths,
        text_align=align,
        line_height=4.4,
        width=pdf.epw,
        headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
        padding=1.2,
    ) as table:
        head = table.row()
        for title in headers:
            head.cell(pdf_text(title))
        for inv in ctx.invoices:
            row = table.row()
            cells = [
                inv.number,
                _day(inv.issue_date),
                _day(inv.due_date),
                format_amount(inv.amount, inv.currency),
                format_amount(inv.remaining, inv.currency),
                str(inv.days_overdue) + " j",
            ]
            if b2b:
                cells += [
                    format_amount(inv.penalties, inv.currency) if ctx.penalties_known else "-",
                    format_amount(inv.indemnity, inv.currency),
                ]
            for text in cells:
                row.cell(pdf_text(text))
        total = table.row(style=FontFace(emphasis="BOLD"))
        totals = ["Total", "", "", format_amount(ctx.total_amount, ctx.currency)]
        totals += [format_amount(ctx.total_balance, ctx.currency), ""]
        if b2b:
            totals += [
                format_amount(ctx.total_penalties, ctx.currency) if ctx.penalties_known else "-",
                format_amount(ctx.total_indemnity, ctx.currency),
            ]
        for text in totals:
            total.cell(pdf_text(text))
    pdf.set_font("Helvetica", size=BODY_SIZE)
    pdf.ln(4)


def _day(day: object) -> str:
    from datetime import date

    assert isinstance(day, date)
    return f"{format_short_date(day)}/{day.year}"
