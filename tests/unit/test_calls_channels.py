"""The ladder's channel and tone obeyed (issue 11 §2), pure parts: which channel a step has for a profile, which
templates a tone selects, the letter a channel posts, the `tel:` URI, the call outcome, and the call card's layout."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.cards import card_parts, keyboard_for, telegram_card
from bot.slack.blocks import card_blocks
from dunning.ladder import DEFAULT_LADDER, Channel, Ladder, Step, Tone, first_overdue_step, step_channel, step_tone
from messages.render import Renderer, TemplateError
from messages.samples import sample_contexts
from services.calls import MAX_CALL_NOTE, CallInfo, parse_call_note, tel_uri
from services.core import InputError
from tests.unit.test_bot_inputs import PlainDraft, _view


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


@pytest.mark.parametrize(
    ("step", "profile", "channel"),
    [
        ("pre_reminder", "standard", Channel.EMAIL),
        ("reminder_1", "standard", Channel.EMAIL),
        ("reminder_2", "standard", Channel.EMAIL_AND_LETTER),
        ("formal_notice", "standard", Channel.REGISTERED_LETTER),
        ("pre_reminder", "key_account", Channel.EMAIL),  # before the due date: still an e-mail
        ("reminder_1", "key_account", Channel.PHONE),  # the first overdue step of a key account is a call
        ("reminder_2", "key_account", Channel.EMAIL_AND_LETTER),
        ("thanks", "key_account", Channel.EMAIL),  # a message outside the ladder
    ],
)
def test_step_channel(step: str, profile: str, channel: Channel) -> None:
    """Each step's channel as the ladder says, but a key account's first overdue step is a call."""
    assert step_channel(DEFAULT_LADDER, step, profile) == channel


def test_first_overdue_step_of_a_ladder_without_one_is_none() -> None:
    """A ladder of pre-due steps only has no first overdue step: a key account is then never switched to a call."""
    ladder = Ladder((Step("early", -5, Tone.INFORMATIVE, Channel.EMAIL),))
    assert first_overdue_step(ladder) is None
    assert step_channel(ladder, "early", "key_account") == Channel.EMAIL
    assert step_tone(DEFAULT_LADDER, "formal_notice") == Tone.FORMAL and step_tone(DEFAULT_LADDER, "x") is None


def test_tone_selects_the_templates_of_a_step_without_its_own(renderer: Renderer) -> None:
    """A step with templates keeps them whatever its tone; one without (reminder_3) uses its tone's: firm ->
    reminder_2, formal -> formal_notice; no tone, no fallback."""
    assert renderer.template_step("reminder_1", "firm") == "reminder_1"
    assert renderer.template_step("reminder_3", "firm") == "reminder_2"
    assert renderer.template_step("reminder_3", "formal") == "formal_notice"
    assert renderer.template_step("reminder_3", "") == "reminder_3"
    ctx = replace(sample_contexts("reminder_2", "fr")[0], step="reminder_3", step_tone="firm")
    base = replace(ctx, step="reminder_2")
    assert renderer.render_email(ctx).subject == renderer.render_email(base).subject


def test_check_accepts_a_ladder_step_worded_by_its_tone(renderer: Renderer) -> None:
    """check() passes a ladder step without templates when its tone gives it some; its bare name still fails."""
    renderer.check([Step("reminder_3", 22, Tone.FIRM, Channel.EMAIL)])
    with pytest.raises(TemplateError, match="reminder_3"):
        Renderer().check(["reminder_3"])


def test_the_letter_follows_the_channel_and_the_tone(renderer: Renderer) -> None:
    """email: no letter; email+letter / registered_letter on a firm step: the reminder letter first (relance-…);
    the formal notice: the mise en demeure, as before."""
    ctx = sample_contexts("reminder_2", "fr")[0]
    email = renderer.render_draft(replace(ctx, channel="email", step_tone="firm"))
    assert not any(a.filename.startswith(("relance-", "mise-en-demeure-")) for a in email.attachments)
    for channel in ("email+letter", "registered_letter"):
        posted = renderer.render_draft(replace(ctx, channel=channel, step_tone="firm"))
        assert posted.attachments[0].filename.startswith("relance-") and posted.attachments[0].content[:4] == b"%PDF"
    notice = sample_contexts("formal_notice", "fr")[0]
    formal = renderer.render_draft(replace(notice, channel="registered_letter", step_tone="formal"))
    assert formal.attachments[0].filename.startswith("mise-en-demeure-")


def test_reminder_letter_wording_is_not_a_formal_notice(renderer: Renderer) -> None:
    """The reminder letter's object is a relance; only a registered one carries the LRAR mention; no court threat."""
    from messages.letter import letter_parts

    ctx = replace(sample_contexts("reminder_2", "fr")[0], channel="email+letter", step_tone="firm")
    parts = letter_parts(ctx, renderer)
    assert parts["object"].startswith("Objet : relance") and parts["mention"] == ""
    assert "injonction" not in " ".join(parts.values()) and "mise en demeure" in parts["consequence"]
    registered = letter_parts(replace(ctx, channel="registered_letter"), renderer)
    assert registered["mention"] == "Lettre recommandée avec accusé de réception"


@pytest.mark.parametrize(
    ("typed", "uri"),
    [
        ("06 12 34 56 78", "tel:+33612345678"),
        ("06.12.34.56.78", "tel:+33612345678"),
        ("+32 2 555 12 12", "tel:+3225551212"),
        ("0044 20 7946 0000", "tel:+442079460000"),
        ("", ""),
        ("appeler Marc", ""),
    ],
)
def test_tel_uri(typed: str, uri: str) -> None:
    """A number as typed becomes a tel: URI (a French national number gets +33); no number, no link."""
    assert tel_uri(typed) == uri


def test_parse_call_note() -> None:
    """The outcome is one line (spaces collapsed); empty or too long is refused with a catalogue key."""
    assert parse_call_note("  paiera \n vendredi ") == "paiera vendredi"
    with pytest.raises(InputError) as empty:
        parse_call_note("  \n ")
    assert empty.value.key == "call.note_empty"
    with pytest.raises(InputError) as long:
        parse_call_note("x" * (MAX_CALL_NOTE + 1))
    assert long.value.key == "call.note_too_long"


def _call(**kw: object) -> CallInfo:
    fields: dict[str, object] = {"phone": "06 12 34 56 78", "tel": "tel:+33612345678", "script": "Bonjour,\n1. …"}
    fields.update(kw)
    return CallInfo(**fields)  # type: ignore[arg-type]


def test_call_keyboards() -> None:
    """The call card: Appel fait / Pas de réponse, Envoyer plutôt l'e-mail / Reporter; after a call: Promesse /
    Litige / Payée; the labels in French."""
    view = _view()
    rows = keyboard_for("call", view, "fr")
    assert [[b.data.split(":")[1] for b in row] for row in rows] == [["cdone", "cnone"], ["cmail", "snz"]]
    assert [b.label for b in rows[0]] == ["📞 Appel fait", "📵 Pas de réponse"]
    assert rows[1][0].label == "✉️ Envoyer plutôt l'e-mail"
    called = keyboard_for("called", view, "fr")
    assert [b.data.split(":")[1] for b in called[0]] == ["prom", "disp", "pay"]


def test_call_card_in_telegram_and_slack() -> None:
    """The call card shows the number as a tel: link (Telegram HTML, Slack <tel:…|…>), the script as its body,
    the attempts so far, and not the e-mail's recipients."""
    view = _view()
    attempt = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    parts = card_parts(
        view, PlainDraft("Relance", "Bonjour."), lang="fr", keyboard="call", call=_call(attempts=(attempt,))
    )
    card = telegram_card(parts, "fr")
    assert '<a href="tel:+33612345678">06 12 34 56 78</a>' in card.text
    assert "<b>Script d'appel</b>" in card.text and "Bonjour," in card.text
    assert "1 tentative(s), la dernière le 24/11 à 09:30" in card.text and "✉️ À :" not in card.text
    blocks = card_blocks(parts, "fr")
    assert "<tel:+33612345678|06 12 34 56 78>" in str(blocks)
    body = next(b for b in blocks if b["block_id"] == "card-body")
    assert body["text"] == {"type": "plain_text", "text": "Bonjour,\n1. …", "emoji": False}
    no_number = _call(tel="", phone="")
    parts_en = card_parts(view, PlainDraft("Relance", "Bonjour."), lang="en", keyboard="call", call=no_number)
    none = telegram_card(parts_en, "en")
    assert "no phone number is recorded" in none.text and "tel:" not in none.text


def test_letter_channel_adds_the_letter_button_and_line() -> None:
    """A step posted as a letter: the card says so and offers 📄 Lettre PDF (not only the formal notice)."""
    parts = card_parts(_view(), PlainDraft("Relance", "Bonjour."), lang="fr", channel="registered_letter")
    assert "Lettre recommandée d'abord" in "\n".join(parts.head)
    assert "pdf" in [b.data.split(":")[1] for row in parts.buttons for b in row]
    plain = card_parts(_view(), PlainDraft("Relance", "Bonjour."), lang="fr")
    assert "pdf" not in [b.data.split(":")[1] for row in plain.buttons for b in row]
