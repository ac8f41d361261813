"""The templates of messages drafted outside the ladder (thanks, penalty claim, plan schedule, plan reminder):
they render in French and English with every sample, and say what they must in correct French."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from messages.formatting import format_amount
from messages.render import Renderer
from messages.samples import sample_contexts

KINDS = ("thanks", "penalty_claim", "plan_schedule", "plan_reminder")


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_renders_with_every_sample(renderer: Renderer, kind: str, lang: str) -> None:
    """Subject on one line, text and HTML render for every sample context, with no template syntax left over."""
    for ctx in sample_contexts(kind, lang):
        draft = renderer.render_email(ctx)
        assert draft.subject and "\n" not in draft.subject
        for part in (draft.subject, draft.text, draft.html):
            assert "{{" not in part and "{%" not in part and "None" not in part
        assert ctx.sender.name in draft.text
        assert f'<html lang="{lang}">' in draft.html


def test_thanks_in_french(renderer: Renderer) -> None:
    """The thanks says the payment was received and the invoices are settled; the subject names them."""
    ctx = sample_contexts("thanks", "fr")[0]
    ctx = replace(ctx, invoices=tuple(replace(i, amount_paid=i.amount, balance=Decimal("0.00")) for i in ctx.invoices))
    draft = renderer.render_email(ctx)
    assert draft.subject == "Merci pour votre règlement : facture n° F-2026-042"
    assert "Nous avons bien reçu votre règlement et nous vous en remercions." in draft.text
    assert "La facture n° F-2026-042 est désormais entièrement réglée : votre compte est à jour." in draft.text
    assert draft.text.startswith("Bonjour,") and "Bien cordialement," in draft.text


def test_penalty_claim_in_french_states_each_figure_and_the_law(renderer: Renderer) -> None:
    """Each invoice's penalties and indemnity and their total appear, with the articles of the Code de commerce."""
    ctx = sample_contexts("penalty_claim", "fr")[1]
    text = renderer.render_email(ctx).text
    assert "article L441-10 du Code de commerce" in text and "article D441-5" in text
    for inv in ctx.invoices:
        assert f"pénalités {format_amount(inv.penalties, 'EUR', 'fr')}" in text
        assert f"réglée avec {inv.days_overdue}\u00a0jours de retard" in text
    total = format_amount(ctx.total_penalties + ctx.total_indemnity, "EUR", "fr")
    assert f"Soit un total de {total}, que nous vous remercions de bien vouloir nous régler." in text
    assert renderer.render_email(ctx).subject.startswith("Pénalités de retard et indemnité forfaitaire : factures n° ")


def test_penalty_claim_without_rates_gives_no_guessed_figure(renderer: Renderer) -> None:
    """A half-year missing from the rate table: the indemnity is claimed, the penalties are stated without figure."""
    ctx = replace(sample_contexts("penalty_claim", "fr")[0], rates_missing="2026-H1")
    text = renderer.render_email(ctx).text
    assert "pénalités 8" not in text and "Soit un total" not in text
    assert "au taux de la BCE majoré de 10 points ; nous vous en communiquerons le montant exact." in text


def test_penalty_claim_to_a_consumer_claims_nothing(renderer: Renderer) -> None:
    """A consumer owes no commercial penalties nor indemnity: the message claims no amount."""
    ctx = sample_contexts("penalty_claim", "fr")[2]
    assert ctx.is_consumer
    text = renderer.render_email(ctx).text
    assert "indemnité" not in text and "L441-10" not in text and "€" not in text.split("Bien cordialement")[0]


def test_plan_schedule_lists_every_instalment_in_french(renderer: Renderer) -> None:
    """Each instalment with its rank (1re, 2e...), date and amount; a split one names both invoices."""
    ctx = sample_contexts("plan_schedule", "fr")[1]
    text = renderer.render_email(ctx).text
    assert "Comme convenu, nous vous proposons de régler les factures n° " in text
    assert "en 3 échéances :" in text
    assert "- 1re échéance, le 10 mai 2026 : 400,00\u00a0€ (facture n° F-2026-042)" in text
    assert "- 2e échéance, le 9 juin 2026 : 400,00\u00a0€ (factures n° F-2026-042 et F-2026-037)" in text
    assert "- 3e échéance, le 10 juillet 2026 : 434,56\u00a0€" in text


def test_plan_reminder_says_what_was_due_when_and_what_is_late(renderer: Renderer) -> None:
    """The missed instalment, its date, what was paid on it and what is late; then the instalments to come."""
    ctx = sample_contexts("plan_reminder", "fr")[0]
    text = renderer.render_email(ctx).text
    assert (
        "l'échéance suivante de l'échéancier convenu pour la facture n° F-2026-042 ne nous est pas encore parvenue"
        in text
    )
    missed = "- 1re échéance, prévue le 10 mai 2026 : 400,00\u00a0€, dont 150,00\u00a0€ déjà réglés ; "
    missed += "reste 250,00\u00a0€"
    assert missed in text
    assert "Soit 250,00\u00a0€ en retard à ce jour." in text
    assert "- le 9 juin 2026 : 400,00\u00a0€" in text
    en = renderer.render_email(sample_contexts("plan_reminder", "en")[0]).text
    assert "€250.00 outstanding" in en and "That is €250.00 overdue today." in en
