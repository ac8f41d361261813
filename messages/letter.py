"""The formal-notice letter (mise en demeure) as an A4 PDF, ready to print or to send by electronic registered mail.

Layout here, wording in the template `fr/_letter.formal_notice.j2` (one Jinja block per part of the letter; the
owner may override it in TEMPLATES_DIR). The letter is always in French: it is a French legal document.

Fonts: fpdf2's built-in Helvetica with the Windows-1252 encoding, which covers French accents, the € sign,
typographic apostrophes and « guillemets », so no font file is shipped and no system font is read. Characters
outside Windows-1252 (in a client name, say) are transliterated or replaced by "?" rather than breaking the PDF.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fpdf import FPDF, FontFace, XPos, YPos
from fpdf.enums import MethodReturnValue

from messages.context import DraftContext, bare_email
from messages.formatting import address_lines, format_amount, format_short_date

if TYPE_CHECKING:
    from messages.render import Renderer

LETTER_TEMPLATE = "fr/_letter.formal_notice.j2"
#: The letter of a step that is not formal (tone informative, friendly or firm) whose channel posts a letter: a
#: reminder by post, same layout and blocks, without the formal notice's demand and legal consequences.
REMINDER_LETTER_TEMPLATE = "fr/_letter.reminder.j2"


def letter_template(ctx: DraftContext) -> str:
    """The letter template of `ctx`: the formal notice for a formal step, else the reminder letter."""
    return LETTER_TEMPLATE if ctx.formal_letter else REMINDER_LETTER_TEMPLATE


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
#: Optional blocks: an owner's template written before they existed still passes the check (they print nothing).
OPTIONAL_LETTER_BLOCKS = ("sender_contact",)
#: Page geometry, in millimetres (A4 portrait).
MARGIN = 20.0
TOP = 18.0
BOTTOM = 20.0  # the page footer sits 10-14 mm from the bottom edge
SENDER_W = 85.0
RECIPIENT_X = 110.0  # a French window envelope (DL, window on the right)
RECIPIENT_Y = 45.0
PLACE_Y = 66.0


@dataclass(frozen=True, slots=True)
class _Style:
    """Type sizes (points) and vertical spacing (millimetres) of the letter's text."""

    body: float  # body text size
    line: float  # body leading
    gap: float  # between paragraphs
    small: float  # the penalty computation
    small_line: float
    table_line: float
    signature_room: float  # left blank for the handwritten signature


#: The usual look: 10 pt on 12.75 pt leading.
REGULAR = _Style(body=10.0, line=4.5, gap=2.0, small=8.5, small_line=3.9, table_line=4.0, signature_room=13.0)
#: Used only when it makes a letter that would take two pages fit on one (a letter with three or four invoices):
#: one page is easier to read, to print and to prove than two, and 9.5 pt is still a comfortable size.
COMPACT = _Style(body=9.5, line=4.1, gap=1.5, small=8.0, small_line=3.5, table_line=3.6, signature_room=12.0)
BODY_SIZE = REGULAR.body
LINE = REGULAR.line
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
    """ "mise-en-demeure-F-2026-042.pdf" ("relance-…" for a reminder letter; file-name-safe; "-et-autres" when
    several invoices)."""
    number = re.sub(r"[^A-Za-z0-9_-]+", "-", ctx.first.number).strip("-")[:40] or "facture"
    kind = "mise-en-demeure" if ctx.formal_letter else "relance"
    return f"{kind}-{number}{'-et-autres' if ctx.several else ''}.pdf"


def letter_parts(ctx: DraftContext, renderer: Renderer | None = None) -> dict[str, str]:
    """The rendered text of every block of the letter template."""
    from messages.render import TemplateError, default_renderer

    tmpl = (renderer or default_renderer())._template(letter_template(ctx))
    # `contact_email` is the bare address: the sender's e-mail setting may be a mail header "Name <address>".
    context = tmpl.new_context({"ctx": ctx, "subject": "", "contact_email": ctx.sender.contact_email})
    parts = {}
    for name in LETTER_BLOCKS + OPTIONAL_LETTER_BLOCKS:
        block = tmpl.blocks.get(name)
        if block is None:
            if name in OPTIONAL_LETTER_BLOCKS:
                parts[name] = ""
                continue
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
    pdf.set_margins(MARGIN, TOP, MARGIN)
    pdf.set_auto_page_break(True, margin=BOTTOM)
    pdf.set_creation_date(datetime(ctx.today.year, ctx.today.month, ctx.today.day, tzinfo=UTC))
    pdf.set_title(pdf_text(parts["object"]))
    pdf.set_author(pdf_text(sender.name))
    pdf.footer_text = pdf_text(f"{sender.name} - {parts['object']}")
    pdf.alias_nb_pages()
    pdf.add_page()

    # Letterhead, top left: who writes, where to find them, and the SIREN a court will ask for.
    pdf.set_font("Helvetica", "B", 11)
    _para(pdf, _short(sender.name, 120), width=SENDER_W, height=5, align="L")
    pdf.set_font("Helvetica", size=9)
    for line in sender_lines(ctx, parts)[1:]:
        _para(pdf, _short(line, 80), width=SENDER_W, height=4.1, align="L")

    # Recipient block, in the envelope window.
    pdf.set_xy(RECIPIENT_X, max(pdf.get_y() + 4, RECIPIENT_Y))
    name, *address = recipient_lines(ctx)
    pdf.set_font("Helvetica", "B", 10.5)
    _para(pdf, _short(name, 120), width=pdf.w - MARGIN - RECIPIENT_X, x=RECIPIENT_X, height=4.8, align="L")
    pdf.set_font("Helvetica", size=10)
    for line in address:
        _para(pdf, _short(line, 80), width=pdf.w - MARGIN - RECIPIENT_X, x=RECIPIENT_X, height=4.8, align="L")
    pdf.set_y(max(pdf.get_y() + 5, PLACE_Y))

    body = [p for name in BODY_BLOCKS for p in _split_paragraphs(parts[name])]
    style = COMPACT if _fits_only_compact(pdf, ctx, parts, body) else REGULAR

    # Place and date under the window, then the mention and the object.
    pdf.set_font("Helvetica", size=style.body)
    pdf.cell(0, style.line, pdf_text(parts["place_date"]), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", style.body)
    _para(pdf, parts["mention"], height=style.line, align="L")
    pdf.ln(1)
    _para(pdf, parts["object"], height=style.line, align="L")
    pdf.ln(3)
    pdf.set_font("Helvetica", size=style.body)
    _para(pdf, parts["salutation"], height=style.line)
    pdf.ln(1.5)
    _paragraphs(pdf, parts["intro"], style)

    _invoice_table(pdf, ctx, parts["table_headers"].split("|"), style)

    if _has_computation(ctx, parts):
        pdf.set_font("Helvetica", "B", style.small + 1)
        _para(pdf, parts["computation_title"], height=style.line)
        pdf.set_font("Helvetica", size=style.small)
        for line in _computation_lines(parts):
            _para(pdf, line, height=style.small_line, align="L")
        _paragraphs(pdf, parts["computation_note"], style, height=style.small_line)
        pdf.set_font("Helvetica", size=style.body)

    *before, last = body or [""]
    for paragraph in before:
        _paragraph(pdf, paragraph, style)
    # The last paragraph, the closing formula and the signature are one block: when it does not fit what is left
    # of the page, all of it starts the next page, so that the signature never stands alone under a page break.
    if not _closing_fits(pdf, last, parts, style):
        pdf.add_page()
    _paragraph(pdf, last, style)
    _closing(pdf, parts, style)
    return bytes(pdf.output())


#: The paragraphs of the body after the table, in order; the last one is kept with the closing.
BODY_BLOCKS = ("demand", "legal", "payment", "consequence", "amicable")
#: Width of the signature column, on the right under the recipient block.
SIGNATURE_W = 210.0 - MARGIN - RECIPIENT_X
#: fpdf2 breaks justified text at spaces, so a paragraph takes a little more room than its width alone says.
_WRAP_LOSS = 1.08


def sender_lines(ctx: DraftContext, parts: dict[str, str]) -> list[str]:
    """The letterhead: company name, postal address one line per line, SIREN, then how to reach the company."""
    lines = [ctx.sender.name, *address_lines(ctx.sender.address)]
    for block in ("sender_ids", "sender_contact"):
        lines += [line.strip() for line in parts.get(block, "").splitlines() if line.strip()]
    return lines


def recipient_lines(ctx: DraftContext) -> list[str]:
    """The envelope window: the client's name, then each address line once.

    An address imported as "GARAGE DES ALPES / 4 avenue Foch / ..." starts with the name already printed above
    it; a line equal to the name (or to an earlier line), ignoring case and spaces, is printed only once.
    """
    seen = {_same_line(ctx.client_name)}
    lines = [ctx.client_name]
    for line in address_lines(ctx.client_address):
        if _same_line(line) not in seen:
            seen.add(_same_line(line))
            lines.append(line)
    if len(lines) == 1 and ctx.client_email:
        lines.append(bare_email(ctx.client_email))
    return lines[:7]


def _same_line(text: str) -> str:
    return "".join(text.split()).casefold()


def _split_paragraphs(text: str) -> list[str]:
    """The paragraphs of a block (blank lines separate them), each on one line."""
    # Join wrapped template lines; str.split() would also eat the no-break spaces inside amounts.
    return [re.sub(r"[ \t\r\n]+", " ", p.strip()) for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]


def _has_computation(ctx: DraftContext, parts: dict[str, str]) -> bool:
    return ctx.b2b or bool(parts["computation_note"])


def _computation_lines(parts: dict[str, str]) -> list[str]:
    return [line.strip() for line in parts["computation"].splitlines() if line.strip()]


# --- drawing -------------------------------------------------------------------------------------------------


def _paragraph(pdf: FPDF, text: str, style: _Style, *, height: float | None = None) -> None:
    if text:
        _para(pdf, text, height=style.line if height is None else height)
        pdf.ln(style.gap)


def _paragraphs(pdf: FPDF, text: str, style: _Style, *, height: float | None = None) -> None:
    for paragraph in _split_paragraphs(text):
        _paragraph(pdf, paragraph, style, height=height)


def _closing(pdf: FPDF, parts: dict[str, str], style: _Style) -> None:
    """The closing formula, then the signatory on the right with room to sign."""
    for paragraph in _split_paragraphs(parts["closing"]):
        _paragraph(pdf, paragraph, style)
    pdf.ln(2)
    _para(pdf, parts["signature"], width=SIGNATURE_W, x=RECIPIENT_X, height=style.line, align="L")
    pdf.ln(style.signature_room)
    pdf.set_font("Helvetica", "I", 8.5)
    pdf.set_text_color(120, 120, 120)
    _para(pdf, parts["signature_hint"], width=SIGNATURE_W, x=RECIPIENT_X, height=4.0, align="L")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("Helvetica", size=style.body)


def _para(
    pdf: FPDF, text: str, *, width: float = 0, height: float = LINE, x: float | None = None, align: str = "J"
) -> None:
    if x is not None:
        pdf.set_x(x)
    pdf.multi_cell(width, height, pdf_text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align=align)


def _short(text: str, limit: int) -> str:
    """At most `limit` characters (a postal block has little room)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- fitting -------------------------------------------------------------------------------------------------
# fpdf2's line breaking is most of a letter's rendering time, so the letter is laid out once: heights are
# estimated from string widths (cheap), and fpdf2 breaks lines only to draw them or, rarely, to settle a doubt.


def _closing_fits(pdf: FPDF, last: str, parts: dict[str, str], style: _Style) -> bool:
    """Whether the last paragraph, the closing formula and the signature block fit in what is left of the page.

    Each text's line count is bounded from string widths; fpdf2 breaks lines (a dry run) only for a text whose
    bounds differ when the page break falls between the totals of the bounds.
    """
    texts = [(last, pdf.epw, style.gap)] if last else []
    texts += [(paragraph, pdf.epw, style.gap) for paragraph in _split_paragraphs(parts["closing"])]
    texts.append((parts["signature"], SIGNATURE_W, 0.0))
    fixed = 2 + style.signature_room + 4.0 * max(1, len(parts["signature_hint"].splitlines()))
    bounds = [_line_bounds(pdf, text, width) for text, width, _ in texts]
    low = fixed + sum(lo * style.line + gap for (lo, _), (_, _, gap) in zip(bounds, texts, strict=True))
    high = fixed + sum(hi * style.line + gap for (_, hi), (_, _, gap) in zip(bounds, texts, strict=True))
    room = pdf.page_break_trigger - pdf.get_y()
    if high <= room or low > room:
        return high <= room
    exact = fixed
    for (lo, hi), (text, width, gap) in zip(bounds, texts, strict=True):
        exact += (lo if lo == hi else _lines(pdf, text, width, style)) * style.line + gap
    return exact <= room


def _line_bounds(pdf: FPDF, text: str, width: float) -> tuple[int, int]:
    """At least and at most how many lines `text` takes in the current font at `width`.

    Every line but the last is full up to less than the widest word (the next word did not fit), so a text of
    total width W takes at most W / (width - widest word) + 1 lines.
    """
    span = width - 2 * pdf.c_margin
    total = pdf.get_string_width(pdf_text(text))
    if total <= span:
        return 1, 1
    widest = max(pdf.get_string_width(pdf_text(word + " ")) for word in text.split(" "))
    low = math.ceil(total / span)
    if widest >= span / 2:  # a word as long as a line is cut anywhere: no useful bound
        return low, low + len(text)
    return low, max(low, math.floor(total / (span - widest)) + 1)


def _lines(pdf: FPDF, text: str, width: float, style: _Style) -> int:
    """How many lines `text` takes in the current font at `width` (fpdf2's own line breaking, nothing drawn)."""
    if not text:
        return 0
    lines = pdf.multi_cell(width, style.line, pdf_text(text), dry_run=True, output=MethodReturnValue.LINES)
    assert isinstance(lines, list)  # output=LINES returns the list of lines (the return type is a union)
    return len(lines)


def _fits_only_compact(pdf: FPDF, ctx: DraftContext, parts: dict[str, str], body: list[str]) -> bool:
    """Whether the rest of the letter, from the place line down to the signature, would take a second page in
    the regular style but fit on this one in the compact style (an estimate: a wrong guess costs a page, never
    a signature separated from its closing, which `_closing_fits` guarantees)."""
    room = pdf.page_break_trigger - pdf.get_y()
    return _estimate(pdf, ctx, parts, body, REGULAR) > room >= _estimate(pdf, ctx, parts, body, COMPACT)


def _estimate(pdf: FPDF, ctx: DraftContext, parts: dict[str, str], body: list[str], style: _Style) -> float:
    """The height, in millimetres, that `render_formal_notice_pdf` gives the letter below the recipient block."""

    def lines(text: str, size: float, width: float = 0.0, bold: bool = False) -> int:
        pdf.set_font("Helvetica", "B" if bold else "", size)
        span = (width or pdf.epw) - 2 * pdf.c_margin
        return max(1, math.ceil(pdf.get_string_width(pdf_text(text)) * _WRAP_LOSS / span))

    height = style.line + 3 + lines(parts["mention"], style.body, bold=True) * style.line + 1
    height += lines(parts["object"], style.body, bold=True) * style.line + 3 + style.line + 1.5
    height += sum(lines(p, style.body) * style.line + style.gap for p in _split_paragraphs(parts["intro"]))
    row = style.table_line + 2 * _TABLE_PAD_Y
    number_w = _TABLE_WIDTHS[0] - 2 * _TABLE_PAD_X
    height += 1 + row * 2 + 3  # headings and totals
    height += sum(lines(inv.number, 8.5, number_w) * style.table_line + 2 * _TABLE_PAD_Y for inv in ctx.invoices)
    if _has_computation(ctx, parts):
        height += style.line + len(_computation_lines(parts)) * style.small_line
        height += sum(
            lines(p, style.small) * style.small_line + style.gap for p in _split_paragraphs(parts["computation_note"])
        )
    closing = _split_paragraphs(parts["closing"])
    height += sum(lines(p, style.body) * style.line + style.gap for p in body + closing)
    height += 2 + style.line + style.signature_room + 4.0
    pdf.set_font("Helvetica", size=style.body)
    return height


# --- the table of invoices -----------------------------------------------------------------------------------

_TABLE_WIDTHS = (30, 21, 21, 25, 23, 15, 19, 17)
_TABLE_PAD_Y, _TABLE_PAD_X = 0.9, 1.2


def _invoice_table(pdf: FPDF, ctx: DraftContext, headers: Sequence[str], style: _Style) -> None:
    b2b = ctx.b2b
    ncols = 8 if b2b else 6
    headers = list(headers)[:ncols]
    widths = _TABLE_WIDTHS[:ncols]
    align = ("LEFT", "CENTER", "CENTER", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT")[:ncols]
    pdf.ln(1)
    pdf.set_font("Helvetica", size=8.5)
    with pdf.table(
        col_widths=widths,
        text_align=align,
        line_height=style.table_line,
        width=pdf.epw,
        headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
        padding=(_TABLE_PAD_Y, _TABLE_PAD_X),
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
    pdf.set_font("Helvetica", size=style.body)
    pdf.ln(3)


def _day(day: object) -> str:
    from datetime import date

    assert isinstance(day, date)
    return f"{format_short_date(day)}/{day.year}"
