"""Strangers in the workspace, through the Slack emulator: one ephemeral refusal and one evidence entry a day, no
listener, nothing else."""

from __future__ import annotations

import json
from pathlib import Path

from bot.slack import access
from tests.integration.slack_helpers import OWNER, STRANGER, database_digest, evidence, seed, slack_app

#: Web API methods a listener would call for a stranger (answers, cards, views, files).
_LISTENER_METHODS = ("chat.postMessage", "chat.update", "views.publish", "views.open", "files.info",
                     "files.getUploadURLExternal", "conversations.open")  # fmt: skip


async def test_a_stranger_gets_one_refusal_a_day_and_nothing_else(sqlite_url: str, tmp_path: Path) -> None:
    """A stranger's slash command: the ack is the refusal (seen by them only), one access_refused entry; their next
    requests the same day (command, DM text, home tab) get nothing, and no listener runs for any of them."""
    async with slack_app(sqlite_url, tmp_path) as h:
        seed(h.engine, "1200.00")
        first = await h.slack.aio.slash(STRANGER, "status")
        assert first["text"] == "Ce bot est privé."
        second = await h.slack.aio.slash(STRANGER, "payee F-2026-001")
        assert not second.get("text")
        await h.slack.aio.dm_text(STRANGER, "bonjour ?")
        await h.slack.aio.open_home(STRANGER)
        await h.settle()
        assert [e.text for e in h.slack.ephemerals(STRANGER)] == ["Ce bot est privé."]
        assert not any(h.slack.calls_of(method) for method in _LISTENER_METHODS)
        assert h.slack.home(STRANGER) is None
        refused = evidence(h.engine, "access_refused")
        assert [(e.actor, json.loads(e.payload)["update"]) for e in refused] == [
            (f"stranger:slack:{STRANGER}", "command")
        ]
        await access.close(h.ctx)
        (count,) = evidence(h.engine, "access_refused_count")
        assert json.loads(count.payload)["ignored"] == {f"slack:{STRANGER}": 3}


async def test_a_stranger_clicking_an_owner_button_changes_nothing(sqlite_url: str, tmp_path: Path) -> None:
    """A click by a stranger on the owner's settings panel: one ephemeral refusal in that channel, the business not
    paused, the panel not updated, the database unchanged but for the refusal's entry."""
    async with slack_app(sqlite_url, tmp_path) as h:
        await h.slack.aio.slash(OWNER, "parametres")
        panel = await h.answer("Paramètres")
        before = len(evidence(h.engine))
        await h.slack.aio.click(STRANGER, h.dm, panel.ts, "s1:pause")
        await h.settle()
        refusal = await h.slack.aio.wait_ephemeral(STRANGER, "Ce bot est privé.")
        assert refusal.channel == h.dm
        assert not h.presenter.business().paused and h.slack.updates_of(h.dm, panel.ts) == []
        assert [e.kind for e in evidence(h.engine)[before:]] == ["access_refused"]
        unchanged = database_digest(h.engine)
        await h.slack.aio.click(STRANGER, h.dm, panel.ts, "s1:pause")
        await h.settle()
        assert database_digest(h.engine) == unchanged and len(h.slack.ephemerals(STRANGER)) == 1


async def test_files_shared_in_channels_are_ignored(sqlite_url: str, tmp_path: Path) -> None:
    """Files shared in channels (by anyone) are not for the app: no refusal, no entry, no count, no listener."""
    async with slack_app(sqlite_url, tmp_path) as h:
        h.slack.add_channel("C0GENERAL", "general")
        h.slack.add_user("U0OTHER", "Chloé")
        for user in (STRANGER, OWNER, "U0OTHER"):
            await h.slack.aio.share_file(user, "notes.csv", b"a;b\n", channel="C0GENERAL")
        await h.settle()
        await access.close(h.ctx)
        assert h.slack.ephemerals(STRANGER) == [] and h.slack.calls_of("files.info") == []
        assert evidence(h.engine, "access_refused") == [] and evidence(h.engine, "access_refused_count") == []


async def test_owners_pass_the_gate(sqlite_url: str, tmp_path: Path) -> None:
    """The owner's command reaches its listener (an answer in the DM) and writes no access entry."""
    async with slack_app(sqlite_url, tmp_path) as h:
        ack = await h.slack.aio.slash(OWNER, "aide")
        assert not ack.get("text")
        await h.answer("Commandes")
        await access.close(h.ctx)
        assert evidence(h.engine, "access_refused") == [] and evidence(h.engine, "access_refused_count") == []
