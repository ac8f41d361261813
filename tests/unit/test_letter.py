"""The formal-notice PDF: required mentions, text kept inside the page, hostile input, overrides."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from messages.context import DraftContext
from messages.letter import letter_filename, pdf_text, render_formal_notice_pdf
from messages.render import InvoicePdfError, Renderer, TemplateError, default_renderer
from messages.samples import SAMPLE_TODAY, sample_contexts, sample_invoice

SCALE = 2.0  # 144 dpi
PX_PER_MM = 72 / 25.4 * SCALE
#: Bands that must stay blank: the letter's margins are 20 mm, the page footer sits 10-14 mm from the bottom.
SIDE_MM, TOP_MM, BOTTOM_MM = 15, 15, 8


def _pages(pdf: bytes) -> list[str]:
    doc = pdfium.PdfDocument(pdf)
    return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]


def _text(pdf: bytes) -> str:
    return "\n".join(_pages(pdf))


def _assert_inside(pdf: bytes) -> int:
    """Render every page to PNG-like pixels and check that nothing dark falls in the margins."""
    doc = pdfium.PdfDocument(pdf)
    for index in range(len(doc)):
        image = doc[index].render(scale=SCALE).to_pil().convert("L")
        width, height = image.size
        assert abs(width / PX_PER_MM - 210) < 1 and abs(height / PX_PER_MM - 297) < 1  # A4
        side, top, bottom = (round(mm * PX_PER_MM) for mm in (SIDE_MM, TOP_MM, BOTTOM_MM))
        bands = {
            "left": (0, 0, side, height),
            "right": (width - side, 0, width, height),
            "top": (0, 0, width, top),
            "bottom": (0, height - bottom, width, height),
        }
        for name, box in bands.items():
            darkest = image.crop(box).getextrema()[0]
            assert darkest > 200, f"ink in the {name} margin of page {index + 1}"
        # and there is text on the page at all
        assert image.getextrema()[0] < 100
    return len(doc)


@pytest.fixture(scope="module")
def business_ctx() -> DraftContext:
    """Three invoices of a business client, with a part payment."""
    return sample_contexts("formal_notice")[1]


def test_letter_contains_the_required_mentions(business_ctx: DraftContext) -> None:
    """Sender with SIREN, recipient, place and date, LRAR mention, object, table, penalties, deadline, articles."""
    text = _text(render_formal_notice_pdf(business_ctx))
    for needle in (
        "Atelier Dupont SARL",
        "SIREN 123 456 789",
        "Garage des Alpes",
        "38000 Grenoble",
        "Lyon, le 20 mai 2026",
        "Lettre recommandée avec accusé de réception",
        "Objet : mise en demeure de payer",
        "F-2026-042",
        "F-2026-037",
        "F-2026-021",
        "mettons en demeure",
        "14 134,56 €",  # principal
        "Calcul des pénalités de retard",
        "12,15 %",
        "120,00 €",  # 3 x 40 €
        "28 mai 2026",  # deadline: today + 8 days
        "injonction de payer",
        "L441-10",
        "D441-5",
        "Pour Atelier Dupont SARL",
    ):
        assert needle.replace(" ", "") in text.replace(" ", "").replace("\u00a0", "").replace("\r", ""), needle


def test_letter_totals_match_the_context(business_ctx: DraftContext) -> None:
    """The total claimed is principal + penalties + indemnities of the context, in French format."""
    from messages.formatting import format_amount

    text = _text(render_formal_notice_pdf(business_ctx)).replace("\r", "")
    flat = " ".join(text.split())
    assert " ".join(format_amount(business_ctx.total_due).split()) in flat


def test_letter_stays_inside_the_page(business_ctx: DraftContext) -> None:
    """Rendered to pixels, no page has ink in its margins, and the page is A4."""
    assert _assert_inside(render_formal_notice_pdf(business_ctx)) >= 1


def test_consumer_letter_has_no_b2b_claims() -> None:
    """A consumer letter claims neither penalties nor the 40 € indemnity and cites the Code civil."""
    ctx = sample_contexts("formal_notice")[2]
    text = " ".join(_text(render_formal_notice_pdf(ctx)).split())
    assert "1344 du Code civil" in text
    assert "L441-10" not in text and "Indemnité" not in text


def test_hostile_and_huge_input_stays_inside_the_page() -> None:
    """A 10,000-character name, unbreakable words, non-Latin scripts and RTL overrides still fit the page."""
    invoices = tuple(
        sample_invoice(f"F-{'9' * 60}{i}", "123456.78", SAMPLE_TODAY - timedelta(days=40 + i), SAMPLE_TODAY)
        for i in range(25)
    )
    base = sample_contexts("formal_notice")[0]
    ctx = replace(
        base,
        client_name="Ż" * 10_000 + "\u202e<script>{{ 7*7 }}",
        client_address="Ulica Łódzka 5\n" + "A" * 10_000 + "\n中文地址",
        invoices=invoices,
    )
    pdf = render_formal_notice_pdf(ctx)
    assert _assert_inside(pdf) >= 2
    text = _text(pdf)
    assert "ZZZZ" in text  # transliterated, not dropped
    assert "\u202e" not in text


def test_empty_optional_fields() -> None:
    """A sender without address, SIREN or IBAN and a client without address still get a valid letter."""
    base = sample_contexts("formal_notice")[0]
    ctx = replace(base, sender=replace(base.sender, address="", siren="", iban="", bic="", phone="", email=""))
    text = _text(render_formal_notice_pdf(ctx))
    assert "Le 20 mai 2026" in text
    assert "IBAN" not in text


def test_missing_rates_letter_states_the_rule() -> None:
    """Without a rate for a half-year the letter claims no penalty figure but states that penalties run."""
    ctx = replace(sample_contexts("formal_notice")[0], rates_missing="2026-H2")
    text = " ".join(_text(render_formal_notice_pdf(ctx)).split())
    assert "arrêtées au" not in text
    assert "leur montant sera arrêté au jour du paiement" in text


def test_formal_notice_draft_attaches_the_letter(business_ctx: DraftContext) -> None:
    """render_draft for a formal notice attaches the PDF letter with a safe file name."""
    draft = default_renderer().render_draft(business_ctx)
    (attachment,) = draft.attachments
    assert attachment.mime_type == "application/pdf"
    assert attachment.filename == "mise-en-demeure-F-2026-042-et-autres.pdf"
    assert attachment.content.startswith(b"%PDF")


def test_reminder_draft_attaches_known_invoice_pdfs(tmp_path: Path) -> None:
    """A known invoice PDF whose SHA-256 matches is attached to a reminder; a missing file stops the draft."""
    pdf = tmp_path / "F-2026-042.pdf"
    pdf.write_bytes(b"%PDF-1.4 test")
    sha = hashlib.sha256(b"%PDF-1.4 test").hexdigest()
    ctx = sample_contexts("reminder_1")[0]
    ctx = replace(ctx, invoices=(replace(ctx.first, pdf_path=str(pdf), pdf_sha256=sha),))
    draft = default_renderer().render_draft(ctx)
    assert [a.filename for a in draft.attachments] == ["F-2026-042.pdf"]
    assert "duplicata" in draft.text
    gone = replace(ctx, invoices=(replace(ctx.first, pdf_path=str(tmp_path / "nope.pdf")),))
    with pytest.raises(InvoicePdfError, match=r"F-2026-042.*disparu"):
        default_renderer().render_draft(gone)


def test_letter_is_deterministic(business_ctx: DraftContext) -> None:
    """The same context gives the same bytes (useful for the evidence log's hashes)."""
    assert render_formal_notice_pdf(business_ctx) == render_formal_notice_pdf(business_ctx)


def test_letter_filename_is_safe() -> None:
    """Slashes and spaces in an invoice number never reach the attachment name."""
    base = sample_contexts("formal_notice")[0]
    ctx = replace(base, invoices=(replace(base.first, number="../x y/z"),))
    assert letter_filename(ctx) == "mise-en-demeure-x-y-z.pdf"


def test_pdf_text_keeps_cp1252_and_transliterates_the_rest() -> None:
    """€, accents, guillemets survive; Ł -> L, ź -> z; ideograms -> "?"; narrow spaces -> no-break spaces."""
    assert pdf_text("1\u202f234,56\u00a0€ « été »") == "1\u00a0234,56\u00a0€ « été »"
    assert pdf_text("Łódź 中") == "Lódz ?"


def test_letter_override_missing_a_block_fails_the_check(tmp_path: Path) -> None:
    """An owner's letter template that lacks a block is reported at start-up."""
    (tmp_path / "fr").mkdir()
    (tmp_path / "fr" / "_letter.formal_notice.j2").write_text("{% block object %}Objet{% endblock %}\n", "utf-8")
    with pytest.raises(TemplateError, match="place_date"):
        Renderer(tmp_path).check()


def test_letter_override_changes_the_wording(tmp_path: Path) -> None:
    """An owner's letter template replaces the built-in wording."""
    builtin = Path(__file__).parents[2] / "messages" / "templates" / "fr" / "_letter.formal_notice.j2"
    (tmp_path / "fr").mkdir()
    body = builtin.read_text("utf-8").replace("Madame, Monsieur,", "Cher client,")
    (tmp_path / "fr" / "_letter.formal_notice.j2").write_text(body, "utf-8")
    renderer = Renderer(tmp_path)
    renderer.check()
    assert "Cher client," in _text(render_formal_notice_pdf(sample_contexts("formal_notice")[0], renderer))


def test_letter_time_is_reasonable(business_ctx: DraftContext) -> None:
    """A sanity bound only (the real figure is measured in bench/bench_render.py): a letter is a few KB."""
    assert 1_000 < len(render_formal_notice_pdf(business_ctx)) < 200_000
    assert Decimal("0") < business_ctx.total_penalties


# --- layout as a lawyer would print it: closing kept with the signature, letterhead, envelope window ---------

MM = 72 / 25.4
#: COMPANY_ADDRESS as `.env.example` tells the owner to write it (a literal backslash-n), MAIL_FROM as a header.
ENV_SENDER = replace(
    sample_contexts("formal_notice")[1].sender,
    address="12 rue des Lilas\\n69003 Lyon",
    email="Atelier Dupont SARL <compta@atelier-dupont.fr>",
    reply_to="",
)
CLOSING = "salutations distinguées"
SIGNATORY = "Pour Atelier Dupont SARL,"
LAST_PARAGRAPH = "solution amiable"


def _letter_ctx(count: int, *, address_lines: int = 0) -> DraftContext:
    """A business letter for `count` invoices, sent by ENV_SENDER to a client whose address repeats its name."""
    invoices = tuple(
        sample_invoice(
            f"F-2026-{100 + i:03d}",
            f"{1000 + 37 * i}.50",
            SAMPLE_TODAY - timedelta(days=30 + 3 * i),
            SAMPLE_TODAY,
            paid="100.00" if i == 2 else "0.00",
        )
        for i in range(count)
    )
    extra = "".join(f"Bâtiment {i}\n" for i in range(address_lines))
    return replace(
        sample_contexts("formal_notice")[1],
        sender=ENV_SENDER,
        invoices=invoices,
        client_name="Garage des Alpes",
        client_address=f"GARAGE  DES ALPES\n{extra}4 avenue Foch\n38000 Grenoble",
    )


def _page_of(pages: list[str], needle: str) -> int:
    """The index of the only page that contains `needle` (line breaks and spaces ignored)."""
    flat = ["".join(page.split()) for page in pages]
    found = [i for i, page in enumerate(flat) if "".join(needle.split()) in page]
    assert len(found) == 1, f"{needle!r} on pages {found}"
    return found[0]


def _region(pdf: bytes, left: float, top: float, right: float, bottom: float) -> list[str]:
    """The text lines of page 1 inside a rectangle given in millimetres from the top-left corner."""
    page = pdfium.PdfDocument(pdf)[0]
    height = page.get_height()
    text = page.get_textpage().get_text_bounded(left * MM, height - bottom * MM, right * MM, height - top * MM)
    return [line.strip() for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("count", [1, 5, 20])
def test_signature_shares_its_page_with_the_closing_and_the_last_paragraph(count: int) -> None:
    """With 1, 5 or 20 invoices the signatory line is on the page of the closing formula and the last paragraph."""
    pages = _pages(render_formal_notice_pdf(_letter_ctx(count)))
    assert _page_of(pages, SIGNATORY) == _page_of(pages, CLOSING) == _page_of(pages, LAST_PARAGRAPH)
    assert _page_of(pages, SIGNATORY) == len(pages) - 1  # and nothing comes after it


def test_closing_block_moves_whole_wherever_the_page_break_falls() -> None:
    """Shifting the body by one line at a time (longer address, more invoices) never separates the signature
    from the closing formula and the last paragraph, including where a page break falls right inside them."""
    page_counts = set()
    for count in range(1, 8):
        for extra in range(0, 5):
            pages = _pages(render_formal_notice_pdf(_letter_ctx(count, address_lines=extra)))
            page_counts.add(len(pages))
            where = {_page_of(pages, SIGNATORY), _page_of(pages, CLOSING), _page_of(pages, LAST_PARAGRAPH)}
            assert where == {len(pages) - 1}, (count, extra, where)
    assert page_counts == {1, 2}  # the sweep did cross the page break


@pytest.mark.parametrize("count", [1, 2, 3, 4])
def test_a_letter_with_few_invoices_fits_one_page(count: int) -> None:
    """Up to four invoices (with their penalty computation), the whole letter is printed on one sheet."""
    pdf = render_formal_notice_pdf(_letter_ctx(count))
    assert len(_pages(pdf)) == 1
    assert _assert_inside(pdf) == 1


@pytest.mark.parametrize("count", [1, 5, 20])
def test_letterhead_shows_name_address_lines_and_siren_never_a_mail_header(count: int) -> None:
    """The sender block is the company name, one line per address line (a literal \\n splits them), the SIREN
    and the bare e-mail; no "Name <address>" anywhere in the letter."""
    pdf = render_formal_notice_pdf(_letter_ctx(count))
    letterhead = _region(pdf, 0, 0, 105, 45)
    assert letterhead == [
        "Atelier Dupont SARL",
        "12 rue des Lilas",
        "69003 Lyon",
        "SIREN 123 456 789",
        "Tél. 04 78 00 00 00",
        "compta@atelier-dupont.fr",
    ]
    text = _text(pdf)
    assert "<" not in text and ">" not in text
    assert "à compta@atelier-dupont.fr." in " ".join(text.split())  # the amicable paragraph too


@pytest.mark.parametrize("count", [1, 5, 20])
def test_no_literal_backslash_n_and_the_place_line_names_the_town(count: int) -> None:
    """COMPANY_ADDRESS written with \\n never prints a backslash; the place line is "Lyon, le 20 mai 2026"."""
    pdf = render_formal_notice_pdf(_letter_ctx(count))
    assert "\\" not in _text(pdf)
    lines = [line.strip() for line in _pages(pdf)[0].splitlines()]
    assert "Lyon, le 20 mai 2026" in lines
    assert not any(line.endswith(", le 20 mai 2026") and line != "Lyon, le 20 mai 2026" for line in lines)


@pytest.mark.parametrize("count", [1, 5, 20])
def test_envelope_window_shows_the_client_name_once(count: int) -> None:
    """An address that starts with the client's name (other case, other spacing) shows the name once."""
    window = _region(render_formal_notice_pdf(_letter_ctx(count)), 105, 40, 210, 64)
    assert window == ["Garage des Alpes", "4 avenue Foch", "38000 Grenoble"]


def test_recipient_line_repeated_further_down_is_printed_once() -> None:
    """Every address line is printed once, and a client without postal address shows its bare e-mail."""
    ctx = replace(_letter_ctx(1), client_address="4 avenue Foch\n4 AVENUE FOCH\n38000 Grenoble")
    assert _region(render_formal_notice_pdf(ctx), 105, 40, 210, 64) == [
        "Garage des Alpes",
        "4 avenue Foch",
        "38000 Grenoble",
    ]
    no_address = replace(ctx, client_address="", client_email="Garage <contact@garage-alpes.fr>")
    assert _region(render_formal_notice_pdf(no_address), 105, 40, 210, 64) == [
        "Garage des Alpes",
        "contact@garage-alpes.fr",
    ]


def test_place_line_without_a_known_town_starts_with_le() -> None:
    """An address whose last line names no town gives "Le 20 mai 2026", never a street as the place."""
    ctx = replace(_letter_ctx(1), sender=replace(ENV_SENDER, address="Atelier Dupont / 12 rue des Lilas"))
    lines = [line.strip() for line in _pages(render_formal_notice_pdf(ctx))[0].splitlines()]
    assert "Le 20 mai 2026" in lines


def test_letter_override_without_the_contact_block_still_passes(tmp_path: Path) -> None:
    """An owner's letter written before the `sender_contact` block existed passes the check and prints no
    contact lines in the letterhead (the block is optional)."""
    builtin = Path(__file__).parents[2] / "messages" / "templates" / "fr" / "_letter.formal_notice.j2"
    body = builtin.read_text("utf-8")
    body = body[: body.index("{% block sender_contact %}")]
    (tmp_path / "fr").mkdir()
    (tmp_path / "fr" / "_letter.formal_notice.j2").write_text(body, "utf-8")
    renderer = Renderer(tmp_path)
    renderer.check()
    pdf = render_formal_notice_pdf(_letter_ctx(1), renderer)
    assert _region(pdf, 0, 0, 105, 45) == ["Atelier Dupont SARL", "12 rue des Lilas", "69003 Lyon", "SIREN 123 456 789"]
