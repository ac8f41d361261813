"""Message templates: content rules, profiles, escaping of hostile input, SMS length, owner overrides."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from messages.context import DraftContext, InvoiceLine, clean_text
from messages.formatting import format_amount
from messages.render import SMS_LIMIT, Draft, Renderer, TemplateError, default_renderer, text_to_html
from messages.samples import SAMPLE_SENDER, SAMPLE_TODAY, sample_contexts, sample_invoice

LADDER = ("pre_reminder", "reminder_1", "reminder_2", "formal_notice")
NBSP = "\u00a0"


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    """The built-in templates."""
    return default_renderer()


def _ctx(step: str, lang: str = "fr", **kw: object) -> DraftContext:
    return replace(sample_contexts(step, lang)[0], **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("step", LADDER)
def test_subject_names_the_invoice(renderer: Renderer, step: str) -> None:
    """Every French ladder subject carries the invoice number, never a bare "facture impayée"."""
    draft = renderer.render_email(_ctx(step))
    assert "F-2026-042" in draft.subject
    assert "\n" not in draft.subject


@pytest.mark.parametrize("step", LADDER)
def test_body_has_the_required_facts(renderer: Renderer, step: str) -> None:
    """Text and HTML state the number, dates and amount in French format, payment details and a contact."""
    ctx = _ctx(step)
    draft = renderer.render_email(ctx)
    inv = ctx.first
    for body in (draft.text, draft.html):
        assert "F-2026-042" in body
        assert f"1{NBSP}234,56{NBSP}€" in body
        assert "FR76 3000 6000 0112 3456 7890 189" in body
        assert "AGRIFRPP" in body
        assert "04 78 00 00 00" in body
        assert f"{inv.due_date.day} " in body and "2026" in body
    if step != "pre_reminder":
        assert f"{inv.days_overdue}{NBSP}jours" in draft.text


def test_pre_reminder_mentions_the_coming_due_date(renderer: Renderer) -> None:
    """The pre-reminder gives the due date in words ("23 mai 2026") and asks nothing forceful."""
    draft = renderer.render_email(_ctx("pre_reminder"))
    assert "23 mai 2026" in draft.text
    assert "pénalités" not in draft.text


def test_reminder_2_states_penalties_and_indemnity(renderer: Renderer) -> None:
    """reminder_2 to a business mentions the late-payment penalties, L441-10 and the 40 € indemnity."""
    text = renderer.render_email(_ctx("reminder_2")).text
    assert "pénalités de retard" in text
    assert f"40{NBSP}€" in text or "40 €" in text
    assert "L441-10" in text and "D441-5" in text


def test_formal_notice_has_the_legal_content(renderer: Renderer) -> None:
    """The mise en demeure states principal, penalties to date, 40 € per invoice, deadline, injonction, articles."""
    ctx = _ctx("formal_notice")
    text = renderer.render_email(ctx).text
    assert "mettons en demeure" in text
    assert "principal restant dû" in text
    assert "pénalités de retard arrêtées au 20 mai 2026" in text
    assert "40 € par facture" in text
    assert "28 mai 2026" in text  # today + 8 days (formal_notice_days)
    assert "injonction de payer" in text
    assert "L441-10" in text and "D441-5" in text
    total = ctx.total_balance + ctx.total_penalties + ctx.total_indemnity
    assert format_amount(total) in text


def test_formal_notice_deadline_follows_the_business_setting(renderer: Renderer) -> None:
    """With formal_notice_days = 15 the deadline moves to 4 June 2026."""
    ctx = replace(_ctx("formal_notice"), sender=replace(SAMPLE_SENDER, formal_notice_days=15), deadline=None)
    assert "4 juin 2026" in renderer.render_email(ctx).text


def test_consumer_gets_no_b2b_penalties(renderer: Renderer) -> None:
    """A consumer is never told about the 40 € indemnity or art. L441-10; the notice cites the Code civil."""
    for step in ("reminder_2", "formal_notice"):
        ctx = sample_contexts(step)[2]
        assert ctx.is_consumer
        text = renderer.render_email(ctx).text
        assert "40 €" not in text and f"40{NBSP}€" not in text
        assert "L441-10" not in text
    assert "1344 du Code civil" in renderer.render_email(sample_contexts("formal_notice")[2]).text


def test_missing_rates_state_the_rule_without_a_figure(renderer: Renderer) -> None:
    """When a half-year is missing from the rate table, the notice states the rule but no penalty amount."""
    ctx = _ctx("formal_notice", rates_missing="2026-H2")
    text = renderer.render_email(ctx).text
    assert "arrêtées au" not in text
    assert "continuent de courir" in text


def test_several_invoices_in_one_message(renderer: Renderer) -> None:
    """One message lists every invoice of the client and the total; the subject names them all."""
    ctx = sample_contexts("reminder_1")[1]
    draft = renderer.render_email(ctx)
    for number in ("F-2026-042", "F-2026-037", "F-2026-021"):
        assert number in draft.subject
        assert draft.text.count(number) >= 2  # list + payment reference
        assert number in draft.html
    assert f"14{NBSP}134,56{NBSP}€" in draft.text
    assert draft.html.count("<tr") == 5  # header, three invoices, total


def test_profiles_change_the_wording(renderer: Renderer) -> None:
    """loyal is softer, late_payer firmer, and the standard wording is different from both."""
    texts = {
        p: renderer.render_email(_ctx("reminder_1", client_profile=p)).text for p in ("standard", "loyal", "late_payer")
    }
    assert "simple oubli" in texts["loyal"] and "très certainement" in texts["loyal"]
    assert "Nous constatons" in texts["late_payer"] and "oubli" not in texts["late_payer"]
    assert len(set(texts.values())) == 3


def test_in_difficulty_gets_a_payment_plan_at_reminder_2(renderer: Renderer) -> None:
    """A client in difficulty is offered a payment plan in reminder_2; a standard client only invited to propose one."""
    plan = _ctx("reminder_2", client_profile="in_difficulty")
    assert plan.offers_payment_plan
    assert "3 mensualités" in renderer.render_email(plan).text
    assert "mensualités" not in renderer.render_email(_ctx("reminder_2")).text


def test_key_account_prefers_a_call() -> None:
    """A key account is flagged so that the card proposes the phone script first."""
    assert _ctx("reminder_1", client_profile="key_account").prefer_call
    assert not _ctx("reminder_1").prefer_call


def test_firmness_grows_step_by_step(renderer: Renderer) -> None:
    """Penalties appear at reminder_2, the mise en demeure only at formal_notice, never earlier."""
    texts = [renderer.render_email(_ctx(step)).text for step in LADDER]
    assert ["pénalités" in t for t in texts] == [False, False, True, True]
    assert ["mise en demeure" in t.lower() or "mettons en demeure" in t for t in texts] == [False, False, False, True]


@pytest.mark.parametrize("step", LADDER)
def test_sms_fits_in_160_characters(renderer: Renderer, step: str) -> None:
    """Every sample SMS of the ladder fits in one 160-character message."""
    for ctx in sample_contexts(step):
        sms = renderer.render_sms(ctx)
        assert len(sms) <= SMS_LIMIT, sms
        assert "\n" not in sms


@pytest.mark.parametrize("step", LADDER)
def test_call_script_guides_the_owner(renderer: Renderer, step: str) -> None:
    """The call script names the client, lists the invoices and numbers the steps of the conversation."""
    ctx = sample_contexts(step)[3]
    script = renderer.render_call_script(ctx)
    assert "SAS Horizon" in script
    assert "F-2026-021" in script
    assert "1. Présentez-vous" in script
    assert "Préfère être appelé le matin." in script  # the owner's notes


HOSTILE = "<script>alert(1)</script>{{ 7*7 }}\u202eevil"


def test_hostile_client_name_is_escaped_and_never_evaluated(renderer: Renderer) -> None:
    """A client name with <script>, {{ 7*7 }} and a right-to-left override is escaped, never evaluated."""
    ctx = _ctx("reminder_1", client_name=HOSTILE, client_notes=HOSTILE)
    assert "\u202e" not in ctx.client_name
    script = renderer.render_call_script(ctx)
    assert "{{ 7*7 }}" in script and "49" not in script
    assert "\u202e" not in script


def test_hostile_invoice_number_is_escaped_in_html(renderer: Renderer) -> None:
    """An invoice number carrying markup is escaped in HTML and kept literal (not evaluated) in text."""
    inv = replace(sample_invoice("X", "10.00", SAMPLE_TODAY - timedelta(days=7), SAMPLE_TODAY), number=HOSTILE)
    ctx = _ctx("reminder_1", invoices=(inv,))
    draft = renderer.render_email(ctx)
    assert "<script>" not in draft.html
    assert "&lt;script&gt;" in draft.html
    assert "{{ 7*7 }}" in draft.text and "49" not in draft.subject
    assert "\u202e" not in draft.text + draft.html + draft.subject


def test_huge_name_is_capped(renderer: Renderer) -> None:
    """A 10,000-character client name is cut (with an ellipsis) and rendering still works."""
    ctx = _ctx("reminder_1", client_name="A" * 10_000)
    assert len(ctx.client_name) <= 300 and ctx.client_name.endswith("…")
    assert "AAAA" in renderer.render_call_script(ctx)


def test_clean_text_removes_bidi_and_controls() -> None:
    """Bidi overrides, isolates, zero-width and control characters are removed; newlines kept unless single_line."""
    assert clean_text("a\u202eb\u2066c\u200bd\x07e\nf") == "abcde\nf"
    assert clean_text("a\nb", single_line=True) == "a b"


def test_subject_cannot_be_split_by_a_newline_in_an_invoice_number(renderer: Renderer) -> None:
    """A newline smuggled into an invoice number never reaches the subject header."""
    inv = replace(
        sample_invoice("X", "10.00", SAMPLE_TODAY - timedelta(days=7), SAMPLE_TODAY), number="F-1\r\nBcc: x@y"
    )
    draft = renderer.render_email(_ctx("reminder_1", invoices=(inv,)))
    assert "\n" not in draft.subject and "\r" not in draft.subject


def test_with_edits_rebuilds_escaped_html() -> None:
    """An owner-edited body replaces the text, and the HTML is rebuilt from it with markup escaped."""
    draft = Draft("Sujet", "old", "<p>old</p>")
    edited = draft.with_edits(subject="Nouveau\nsujet", text="Bonjour <b>vous</b>,\n\nMerci {{ 7*7 }}.")
    assert edited.subject == "Nouveau sujet"
    assert edited.text.startswith("Bonjour <b>")
    assert "&lt;b&gt;vous&lt;/b&gt;" in edited.html and "<b>" not in edited.html
    assert edited.html.count("<p>") == 2
    assert draft.with_edits(subject=None, text=None) == draft
    assert draft.with_edits(subject="S").text == "old"


def test_text_to_html_keeps_line_breaks() -> None:
    """Single newlines become <br>, blank lines separate paragraphs."""
    html = text_to_html("a\nb\n\nc")
    assert "<p>a<br>\nb</p>" in html and "<p>c</p>" in html


def test_amount_rounding_in_templates(renderer: Renderer) -> None:
    """An amount with more than two decimals is shown rounded half up."""
    inv = InvoiceLine("F-9", date(2026, 4, 1), date(2026, 5, 1), Decimal("10.005"), days_overdue=19)
    assert f"10,01{NBSP}€" in renderer.render_email(_ctx("reminder_1", invoices=(inv,))).text


ALL_STEPS = (*LADDER, "promise_broken", "payment_plan_offer", "payment_thanks")


def test_builtin_templates_pass_the_start_up_check(renderer: Renderer) -> None:
    """Every built-in template (7 steps x 2 languages x 5 kinds, and the 5 messages outside the ladder — the owner's
    answer to a client's e-mail included — x 2 languages x subject, text and HTML) renders under StrictUndefined
    with every sample."""
    renderer.check()
    assert len(renderer.template_names()) == 70 + 5 * 2 * 3


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("step", ALL_STEPS)
def test_every_step_renders_every_kind(renderer: Renderer, step: str, lang: str) -> None:
    """Each step has a subject with the invoice number, text, HTML, an SMS of at most 160 characters and a script."""
    for ctx in sample_contexts(step, lang):
        draft = renderer.render_email(ctx)
        assert ctx.first.number in draft.subject
        assert draft.html.lstrip().startswith("<!DOCTYPE html>")
        assert ctx.sender.name in draft.text
        assert len(renderer.render_sms(ctx)) <= SMS_LIMIT
        assert ctx.client_name in renderer.render_call_script(ctx)


def test_english_uses_english_formats(renderer: Renderer) -> None:
    """English messages show "€1,234.56" and "13 May 2026", including inside shared macros."""
    draft = renderer.render_email(sample_contexts("reminder_1", "en")[0])
    assert "€1,234.56" in draft.text and "€1,234.56" in draft.html
    assert "13 May 2026" in draft.text
    assert "mai" not in draft.text and "jours" not in draft.text


def test_english_formal_notice_cites_the_articles(renderer: Renderer) -> None:
    """The English formal notice still names the mise en demeure, L441-10, D441-5 and the order for payment."""
    text = renderer.render_email(sample_contexts("formal_notice", "en")[0]).text
    for needle in ("mise en demeure", "L441-10", "D441-5", "injonction de payer", "28 May 2026"):
        assert needle in text


def test_payment_plan_offer_lists_instalments_summing_to_the_balance(renderer: Renderer) -> None:
    """The proposed schedule has plan_instalments lines whose amounts add up exactly to the balance."""
    ctx = sample_contexts("payment_plan_offer")[4]
    schedule = ctx.plan_schedule
    assert len(schedule) == 4
    assert sum(a for _, a in schedule) == ctx.total_balance
    text = renderer.render_email(ctx).text
    for _day, amount in schedule:
        assert format_amount(amount) in text


def test_payment_thanks_when_fully_paid(renderer: Renderer) -> None:
    """Thanks for a payment that settles the invoice says it is fully paid and gives no bank details."""
    paid = replace(sample_contexts("payment_thanks")[0].first, amount_paid=Decimal("1234.56"), balance=None)
    ctx = _ctx("payment_thanks", invoices=(paid,), payment_received=Decimal("1234.56"))
    text = renderer.render_email(ctx).text
    assert "entièrement réglée" in text
    assert "IBAN" not in text


def _override(tmp_path: object, name: str, body: str) -> Renderer:
    from pathlib import Path

    root = Path(str(tmp_path))
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return Renderer(root)


def test_owner_override_shadows_builtin(tmp_path: object) -> None:
    """A file in TEMPLATES_DIR with a built-in name replaces it; other templates stay built-in."""
    renderer = _override(tmp_path, "fr/reminder_1.subject.j2", "Petit rappel : facture {{ ctx.first.number }}\n")
    renderer.check()
    ctx = _ctx("reminder_1")
    assert renderer.render_email(ctx).subject == "Petit rappel : facture F-2026-042"
    assert renderer.render_email(_ctx("reminder_2")).subject.startswith("Deuxième relance")


def test_override_with_unknown_variable_fails_at_check_with_file_and_line(tmp_path: object) -> None:
    """An override using an unknown variable is reported by check() with its file and line, not at send time."""
    body = "Bonjour,\n\nVotre facture {{ ctx.first.number }}.\nMerci {{ ctx.client_nmae }} !\n"
    renderer = _override(tmp_path, "fr/reminder_1.text.j2", body)
    with pytest.raises(TemplateError) as info:
        renderer.check()
    assert info.value.filename is not None and info.value.filename.endswith("fr/reminder_1.text.j2")
    assert info.value.lineno == 4
    assert "client_nmae" in str(info.value) and ":4:" in str(info.value)


def test_override_with_syntax_error_fails_at_check(tmp_path: object) -> None:
    """A template syntax error in an override is reported with file and line."""
    renderer = _override(tmp_path, "en/reminder_2.html.j2", "<p>\n{% if ctx.several %}\n</p>\n")
    with pytest.raises(TemplateError) as info:
        renderer.check()
    assert "en/reminder_2.html.j2" in str(info.value)
    assert info.value.lineno is not None


def test_unknown_variable_in_html_override_line(tmp_path: object) -> None:
    """An unknown top-level variable in an HTML override is reported with its line too."""
    renderer = _override(tmp_path, "en/payment_thanks.html.j2", "<p>ok</p>\n<p>{{ amount_due }}</p>\n")
    with pytest.raises(TemplateError, match=r"payment_thanks\.html\.j2:2"):
        renderer.check()


def test_misnamed_override_is_reported(tmp_path: object) -> None:
    """A file whose name does not follow {lang}/{step}.{kind}.j2 is reported rather than silently ignored."""
    renderer = _override(tmp_path, "fr/reminder_1.txt", "x")
    with pytest.raises(TemplateError, match="unexpected file name"):
        renderer.check()


def test_custom_step_must_be_complete(tmp_path: object) -> None:
    """A ladder step without templates fails the check, naming the missing file."""
    renderer = _override(tmp_path, "fr/reminder_3.text.j2", "Bonjour {{ ctx.client_name }}\n")
    with pytest.raises(TemplateError, match="reminder_3"):
        renderer.check(steps=["reminder_3"])


def test_missing_templates_dir_is_an_error(tmp_path: object) -> None:
    """A TEMPLATES_DIR that does not exist is reported at construction."""
    with pytest.raises(TemplateError, match="TEMPLATES_DIR"):
        Renderer(f"{tmp_path}/nope")


def test_client_data_is_never_template_source(tmp_path: object) -> None:
    """Even in an owner override, a client name containing Jinja syntax is printed literally."""
    renderer = _override(tmp_path, "fr/reminder_1.subject.j2", "{{ ctx.client_name }} / {{ ctx.first.number }}\n")
    ctx = _ctx("reminder_1", client_name="{{ 7*7 }}{% raw %}")
    assert renderer.render_email(ctx).subject == "{{ 7*7 }}{% raw %} / F-2026-042"


def test_template_for_unsupported_language_is_reported(tmp_path: object) -> None:
    """A German override would never be used: the check reports it instead of ignoring it."""
    renderer = _override(tmp_path, "de/reminder_1.text.j2", "Hallo\n")
    with pytest.raises(TemplateError, match="unexpected file name"):
        renderer.check()


def test_sender_helpers() -> None:
    """The city comes from the postal-code line, the IBAN is grouped by four, the SIREN by three."""
    assert SAMPLE_SENDER.city == "Lyon"
    assert SAMPLE_SENDER.iban_display == "FR76 3000 6000 0112 3456 7890 189"
    assert SAMPLE_SENDER.siren_display == "123 456 789"
    assert replace(SAMPLE_SENDER, address="").city == ""
    assert replace(SAMPLE_SENDER, reply_to="").contact_email == SAMPLE_SENDER.email


def test_plan_schedule_clamps_to_month_end() -> None:
    """Instalments from 31 January fall on 28 February and 31 March, and add up to the balance."""
    ctx = _ctx("payment_plan_offer", deadline=date(2026, 1, 31), plan_instalments=3)
    days = [d for d, _ in ctx.plan_schedule]
    assert days == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]
    assert sum(a for _, a in ctx.plan_schedule) == ctx.total_balance


def test_context_totals() -> None:
    """Totals add balances, penalties and indemnities; the oldest invoice gives max_days_overdue."""
    ctx = sample_contexts("reminder_2")[1]
    assert ctx.total_due == ctx.total_balance + ctx.total_penalties + ctx.total_indemnity
    assert ctx.total_indemnity == Decimal("120.00")
    assert ctx.max_days_overdue == 45
    assert ctx.invoice_numbers == "F-2026-042, F-2026-037 et F-2026-021"


@pytest.mark.parametrize(("step", "lang"), [("reminder_2", "fr"), ("reminder_2", "en"), ("formal_notice", "fr")])
def test_contractual_rate_is_named_instead_of_the_statutory_rate(renderer: Renderer, step: str, lang: str) -> None:
    """A client with an agreed penalty rate reads that rate, never "ECB + 10 points", in text and HTML."""
    draft = renderer.render_email(_ctx(step, lang, contractual_rate=Decimal("12.5"), rates_missing="2026-H2"))
    agreed = f"12,50{NBSP}%" if lang == "fr" else "12.50%"
    for body in (draft.text, draft.html):
        assert agreed in body
        assert "majoré de 10 points" not in body and "plus 10 percentage points" not in body
    statutory = renderer.render_email(_ctx(step, lang, rates_missing="2026-H2"))
    assert ("majoré de 10 points" if lang == "fr" else "plus 10 percentage points") in statutory.text


def test_contact_address_is_bare_even_when_mail_from_has_a_name(renderer: Renderer) -> None:
    """MAIL_FROM written `Name <address>` still gives a working mailto: link and a bare contact address."""
    sender = replace(SAMPLE_SENDER, email="Atelier Dupont <contact@atelier-dupont.fr>", reply_to="")
    draft = renderer.render_email(_ctx("reminder_1", sender=sender))
    assert sender.contact_email == "contact@atelier-dupont.fr"
    assert "<contact@" not in draft.text and "&lt;contact@" not in draft.html
