"""Slack layouts: catalogue HTML as mrkdwn, cards as Block Kit within Slack's limits, the draft's exact bytes."""

from __future__ import annotations

import html
from dataclasses import replace
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot import presenter
from bot.cards import card_parts, parse_callback, render_dispute, telegram_card, to_plain
from bot.i18n import t
from bot.reports import render_status
from bot.slack.blocks import (
    MAX_BLOCKS,
    MAX_SECTION,
    MAX_VIEW_BLOCKS,
    card_blocks,
    card_message,
    draft_view,
    fallback_text,
    from_card_text,
    text_blocks,
)
from bot.slack.mrkdwn import to_mrkdwn
from services.core import CardState, DigestData, DisputeLine, DraftFailure
from storage.queries import Debtor, StatusSummary
from tests.unit.test_bot_inputs import TODAY, PlainDraft, _view

TZ = ZoneInfo("Europe/Paris")


def _check(blocks: list[dict[str, Any]], limit: int = MAX_BLOCKS) -> None:
    """Slack's limits: block count, section text 1..3000, button text ≤75, unique block ids and action ids ≤255."""
    assert 0 < len(blocks) <= limit
    block_ids = [b["block_id"] for b in blocks]
    assert len(set(block_ids)) == len(block_ids)
    action_ids: list[str] = []
    for block in blocks:
        if block["type"] == "section":
            assert 0 < len(block["text"]["text"]) <= MAX_SECTION
        elif block["type"] == "actions":
            assert 0 < len(block["elements"]) <= 25
            for element in block["elements"]:
                assert 0 < len(element["text"]["text"]) <= 75
                assert element["action_id"] == element["value"] and len(element["action_id"]) <= 255
                action_ids.append(element["action_id"])
        else:
            assert block["type"] == "context"
    assert len(set(action_ids)) == len(action_ids)


def _actions(blocks: list[dict[str, Any]]) -> list[str]:
    """The actions of a card's buttons, in order."""
    ids = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    return [parsed[0] for parsed in map(parse_callback, ids) if parsed]


def _block(blocks: list[dict[str, Any]], block_id: str) -> dict[str, Any]:
    return next(b for b in blocks if b["block_id"] == block_id)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (t("card.title", "fr", client="ACME &amp; Fils", step="Relance 1"), "*ACME &amp; Fils* · Relance 1"),
        (t("card.subject", "fr", subject="Facture &lt;F-1&gt;"), "*Objet :* Facture &lt;F-1&gt;"),
        (t("digest.footer", "en", head="ab12"), "Evidence log fingerprint: `ab12`"),
        ("x<b> gras </b>y", "x *gras* y"),
        ("<i><b>a</b></i> <s>b</s> <u>c</u>", "_*a*_ ~b~ c"),
        ("« &quot;dit&quot; &#39;ici&#39; »", "« \"dit\" 'ici' »"),
        ('<pre><code class="language-text">1 &lt; 2</code></pre>', "```1 &lt; 2```"),
        ('<a href="https://x.example/?a=1&amp;b=2">lien</a>', "<https://x.example/?a=1&amp;b=2|lien>"),
        ("<b></b>rien", "rien"),
        ("<le jeton> & <b>ouvert", "&lt;le jeton&gt; &amp; ouvert"),
    ],
)
def test_catalogue_html_becomes_mrkdwn(source: str, expected: str) -> None:
    """Tags become Slack markers outside the spaces, &amp; &lt; &gt; stay escaped, other entities are decoded."""
    assert to_mrkdwn(source) == expected


def test_short_draft_is_the_exact_text_of_the_telegram_card() -> None:
    """The plain_text body is the draft byte for byte, the same text the Telegram card shows once unescaped."""
    draft = PlainDraft("Sujet & <x>", 'Bonjour,\n\nFacture *F-1* & _acompte_ <payé> :smile: "ok"\n\nCordialement')
    parts = card_parts(_view(), draft, lang="fr")
    blocks = card_blocks(parts, "fr")
    _check(blocks)
    body = _block(blocks, "card-body")["text"]
    assert body == {"type": "plain_text", "text": draft.text, "emoji": False}
    telegram = telegram_card(card_parts(_view(), draft, lang="fr"), "fr").text
    assert html.unescape(telegram.split("<i>", 1)[1].rsplit("</i>", 1)[0]) == body["text"]
    assert _actions(blocks) == ["send", "edit", "snz", "pay", "disp", "prom"]
    assert _block(blocks, "actions-0")["elements"][0]["style"] == "primary"


def test_long_draft_is_cut_with_a_more_button_and_shown_whole_in_a_modal() -> None:
    """A 10,000-character draft: a body section ≤3,000 ending with the cut marker, "Voir la suite", the full modal."""
    text = ("Paragraphe " + "mot " * 125 + "\n\n") * 20
    assert len(text) > 10_000
    parts = card_parts(_view(), PlainDraft("Sujet", text), lang="fr")
    blocks = card_blocks(parts, "fr")
    _check(blocks)
    body = _block(blocks, "card-body")["text"]["text"]
    assert len(body) <= MAX_SECTION and body.endswith("\n" + t("card.cut", "fr"))
    kept = body.removesuffix("\n" + t("card.cut", "fr"))
    assert text.startswith(kept) and text[len(kept)].isspace()  # cut on a word boundary
    assert _actions(blocks).count("more") == 1
    view = draft_view(parts, "fr")
    _check(view["blocks"], MAX_VIEW_BLOCKS)
    assert len(view["title"]["text"]) <= 24 and view["type"] == "modal" and "close" in view
    shown = [b["text"]["text"] for b in view["blocks"] if b["text"]["type"] == "plain_text"]
    assert " ".join(shown).split() == text.split()


def test_cut_draft_gets_a_more_button_whatever_the_keyboard() -> None:
    """After an edit the Telegram keyboard has no "Voir la suite"; Slack adds it when it has to cut the text."""
    parts = card_parts(_view(edited_body="x"), PlainDraft("Sujet", "mot " * 2500), lang="en", keyboard="edited")
    blocks = card_blocks(parts, "en")
    _check(blocks)
    assert _actions(blocks) == ["send", "undo", "more"]
    assert _block(blocks, "card-edited")["type"] == "context"


def test_broken_draft_has_no_send_button() -> None:
    """A draft that cannot be rendered shows why and every way out but sending."""
    state = CardState(_view(), DraftFailure("relance_1.txt.j2, ligne 3"), None, "main", TZ, TODAY)
    parts = presenter.card_parts(state, "fr")
    assert parts is not None and parts.body is None
    blocks = card_blocks(parts, "fr")
    _check(blocks)
    assert "send" not in _actions(blocks) and "edit" not in _actions(blocks)
    assert "relance_1.txt.j2, ligne 3" in " ".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert presenter.card_text(state, "fr") == telegram_card(parts, "fr")


def test_huge_invoice_list_stays_within_fifty_blocks() -> None:
    """A card listing 5,000 invoices keeps its buttons and says the list was cut."""
    line = _view().invoices[0]
    invoices = tuple(replace(line, invoice_id=i, number=f"F-{i:05d}") for i in range(5000))
    parts = card_parts(_view(invoices=invoices), PlainDraft("Sujet", "Bonjour"), lang="fr", note="✅ <b>Noté</b>")
    blocks = card_blocks(parts, "fr")
    _check(blocks)
    assert len(blocks) == MAX_BLOCKS
    heads = [b for b in blocks if b["block_id"].startswith("card-head")]
    assert heads[-1]["text"]["text"].endswith(t("slack.card.truncated", "fr"))
    assert _actions(blocks) == ["send", "edit", "snz", "pay", "disp", "prom"]
    assert _block(blocks, "card-note-0")["text"]["text"] == "✅ *Noté*"


def test_status_text_is_split_on_lines() -> None:
    """A long /status splits into mrkdwn sections ≤3,000 on line boundaries and loses no line."""
    debtors = [Debtor(i, f"Client {i} & Fils", Decimal("1234.56"), 2, 40) for i in range(120)]
    status = render_status(StatusSummary(today=TODAY, top_debtors=debtors), "fr")
    blocks = text_blocks(status, "fr")
    _check(blocks)
    assert len(blocks) >= 2
    shown = [line for b in blocks for line in b["text"]["text"].splitlines() if line]
    assert shown == [line for line in to_mrkdwn(status).splitlines() if line]
    assert fallback_text(status) == to_plain(status.splitlines()[0])


def test_enormous_text_is_cut_at_fifty_blocks() -> None:
    """Text that would need more than 50 sections stops at 50, the last saying it was cut."""
    blocks = text_blocks(("ligne <b>importante</b>\n" * 10_000), "en")
    _check(blocks)
    assert len(blocks) == MAX_BLOCKS
    assert blocks[-1]["text"]["text"].endswith(t("slack.card.truncated", "en"))


def test_dispute_line_and_full_draft_view() -> None:
    """A /litiges line keeps its two buttons; the full-draft modal stays within 100 sections and a 24-character
    title."""
    line = DisputeLine(5, "F-9", "ACME <SA>", Decimal("10.00"), "EUR", "Livraison & retard", 2, "disputed")
    blocks = from_card_text(render_dispute(line, "fr"), "fr")
    _check(blocks)
    assert [e["action_id"] for e in blocks[-1]["elements"]] == ["d1:res:5:2", "d1:off:5:2"]
    assert "ACME &lt;SA&gt;" in blocks[0]["text"]["text"]
    view = draft_view(card_parts(_view(), PlainDraft("Sujet", "mot " * 200_000), lang="fr"), "fr")
    _check(view["blocks"], MAX_VIEW_BLOCKS)
    assert len(view["blocks"]) == MAX_VIEW_BLOCKS and len(view["title"]["text"]) <= 24


def test_digest_parts_are_the_telegram_digest() -> None:
    """The digest in pieces is the same digest as Telegram's, card for card; a card message has a fallback text."""
    broken = replace(_view(), reminder_id=8)
    uncertain = CardState(replace(_view(), reminder_id=9), None, None, "unknown", TZ, TODAY)
    drafts: dict[int, Any] = {7: PlainDraft("S", "B"), 8: DraftFailure("x")}
    data = DigestData(TODAY, [_view(), broken], drafts, Decimal(1), Decimal(1), "abc", False, TZ, [uncertain])
    header, cards = presenter.render_digest(data, "fr")
    header_parts, parts = presenter.render_digest_parts(data, "fr")
    assert header == header_parts
    assert cards == [(rid, telegram_card(p, "fr")) for rid, p in parts]
    assert [rid for rid, _ in parts] == [7, 8, 9]
    for _, p in parts:
        message = card_message(p, "fr")
        _check(message["blocks"])
        assert message["text"] == "&lt;b&gt;ACME&lt;/b&gt; &amp; Fils · Relance 1"
