"""The "🏢 <name>" head line of Slack messages for an owner of several businesses (bot/slack/head.py), pure."""

from __future__ import annotations

from bot.slack.head import HEAD_BLOCK_ID, MAX_BLOCKS, headed

HEAD = "🏢 Dupont &amp; Fils"  # as bot/tenancy.py makes it: HTML-escaped


def _section(i: int) -> dict[str, object]:
    return {"type": "section", "block_id": f"text-{i}", "text": {"type": "mrkdwn", "text": f"ligne {i}"}}


def test_the_head_is_a_block_first_and_in_the_notification_text() -> None:
    """A message with blocks gets the head as its first block (mrkdwn-escaped once) and atop its fallback text;
    a message already headed is left as it is."""
    message = {"channel": "D1", "text": "Relance du jour", "blocks": [_section(0)]}
    out = headed(message, HEAD)
    assert out["blocks"][0] == {"type": "context", "block_id": HEAD_BLOCK_ID,
                                "elements": [{"type": "mrkdwn", "text": "*🏢 Dupont &amp; Fils*"}]}  # fmt: skip
    assert out["blocks"][1:] == [_section(0)] and out["text"] == "🏢 Dupont &amp; Fils · Relance du jour"
    assert headed(out, HEAD) == out
    assert message["blocks"] == [_section(0)]  # the caller's message is not changed


def test_a_full_message_carries_the_head_in_its_first_section() -> None:
    """With Slack's 50 blocks already there, the head goes in front of the first section's text (no 51st block)."""
    out = headed({"text": "x", "blocks": [_section(i) for i in range(MAX_BLOCKS)]}, HEAD)
    assert len(out["blocks"]) == MAX_BLOCKS
    assert out["blocks"][0]["text"]["text"] == "*🏢 Dupont &amp; Fils*\nligne 0"


def test_a_text_only_message_gets_the_head_on_its_first_line() -> None:
    """An ephemeral note without blocks: the head in bold on its own line above the text."""
    assert headed({"text": "C'est fait."}, HEAD)["text"] == "*🏢 Dupont &amp; Fils*\nC'est fait."
