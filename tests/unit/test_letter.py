"""The formal-notice PDF: required mentions, text kept inside the page, hostile input, overrides."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from messages.context import DraftContext
from messages.letter import letter_filename, pdf_text, render_formal_notice_pdf
from messages.render import Renderer, TemplateError, default_renderer
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
    """A known invoice PDF is attached to a reminder; a missing file is skipped."""
    pdf = tmp_path / "F-2026-042.pdf"
    pdf.write_bytes(b"%PDF-1.4 test")
    ctx = sample_contexts("reminder_1")[0]
    ctx = replace(ctx, invoices=(replace(ctx.first, pdf_path=str(pdf)),))
    draft = default_renderer().render_draft(ctx)
    assert [a.filename for a in draft.attachments] == ["F-2026-042.pdf"]
    assert "duplicata" in draft.text
    gone = replace(ctx, invoices=(replace(ctx.first, pdf_path=str(tmp_path / "nope.pdf")),))
    assert default_renderer().render_draft(gone).attachments == ()


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
