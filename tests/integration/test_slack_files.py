"""CSV import by sharing a file in the app's DM (file_shared), through the Slack emulator: same rules and limit."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot import download
from bot.slack import files, home
from services.core import MAX_UPLOAD_BYTES
from storage.db import read_session
from storage.models import Invoice
from tests.e2e.fakeslack import SlackFile
from tests.integration.slack_helpers import OWNER, SlackHarness, evidence, slack_app

HEADER = "invoice_number;client_name;client_email;issue_date;due_date;amount;client_profile;paid_amount"
ROWS = [
    "F-001;Boulangerie Martin SARL;compta@martin.example.fr;01/10/2026;31/10/2026;1 234,56;loyal;",
    "F-002;Garage Dupont SAS;dupont@example.com;2026-10-10;2026-11-09;2.500,00;late_payer;500",
]


def _csv(rows: list[str]) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode("utf-8")


def _numbers(h: SlackHarness) -> list[str]:
    with read_session(h.engine) as s:
        return sorted(i.number for i in s.exec(select(Invoice)).all())


class Downloads:
    """Spies on the capped download: how many were started, and how many bytes the cut ones had read."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started = 0
        self.cut_after: list[int] = []
        real = download.stream_capped

        async def spy(url: str, limit: int, *, headers: Mapping[str, str] | None = None, **kw: Any) -> bytes:
            self.started += 1
            try:
                return await real(url, limit, headers=headers, **kw)
            except download.TooBigError as exc:
                self.cut_after.append(exc.received)
                raise

        monkeypatch.setattr(files, "stream_capped", spy)


async def test_a_csv_shared_in_the_dm_is_imported(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CSV shared in the DM: downloaded with the bot token, imported, reported, logged as slack:<user id>."""
    downloads = Downloads(monkeypatch)
    async with slack_app(sqlite_url, tmp_path) as h:
        await home.refresh(h.ctx, OWNER)  # the owner's Home tab shows the dashboard (nothing owed yet)
        await h.slack.aio.share_file(OWNER, "factures.csv", _csv(ROWS))
        report = await h.answer("Import terminé")
        assert "2 ligne(s), 2 facture(s) créée(s)" in report.plain
        assert _numbers(h) == ["F-001", "F-002"] and downloads.started == 1
        assert [e.actor for e in evidence(h.engine, "import")] == [f"slack:{OWNER}"]
        # The Home tab follows the new figures: 1 234,56 + 2 500,00 - 500,00 paid.
        await h.slack.aio.wait_home(OWNER, "Encours : *3\u00a0234,56\u00a0€*")


async def test_a_bad_csv_is_refused_whole_with_its_line_numbers(sqlite_url: str, tmp_path: Path) -> None:
    """All or nothing: one bad row refuses the file, the answer names its line, nothing is saved."""
    async with slack_app(sqlite_url, tmp_path) as h:
        await h.slack.aio.share_file(OWNER, "factures.csv", _csv([ROWS[0], "F-003;Client;;pas une date;;10;;"]))
        refused = await h.answer("Import refusé")
        assert "ligne 3" in refused.plain
        assert _numbers(h) == []


async def test_a_100_mb_file_is_refused_without_downloading(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """files.info says 100 MB: the answer gives the size and the limit, and no download is even started."""
    downloads = Downloads(monkeypatch)
    async with slack_app(sqlite_url, tmp_path) as h:
        await h.slack.aio.share_file(OWNER, "enorme.csv", b"x" * (100 * 1024 * 1024))
        refused = await h.answer("Ce fichier fait")
        assert "100,0 Mo : 5 Mo au plus" in refused.plain
        assert downloads.started == 0 and _numbers(h) == []


async def test_a_download_larger_than_announced_is_cut_and_refused(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """files.info lies (1 kB announced, 6 MB served): the download stops at the limit, nothing is imported."""
    announced = SlackFile.info

    def lying(self: SlackFile, base_url: str) -> dict[str, Any]:
        info = announced(self, base_url)
        return {**info, "size": 1000} if self.name == "menteur.csv" else info

    monkeypatch.setattr(SlackFile, "info", lying)
    downloads = Downloads(monkeypatch)
    async with slack_app(sqlite_url, tmp_path) as h:
        body = _csv(ROWS) + b"F-999;" + b"x" * (6 * 1024 * 1024) + b"\n"
        await h.slack.aio.share_file(OWNER, "menteur.csv", body)
        refused = await h.answer("Ce fichier fait")
        assert "&gt; 5,0 Mo" in refused.plain
        # Cut at the Content-Length the file host sends, or while streaming: never more than one chunk past the limit.
        assert len(downloads.cut_after) == 1 and downloads.cut_after[0] <= MAX_UPLOAD_BYTES + download.CHUNK
        assert _numbers(h) == []


async def test_other_files_and_other_channels(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An image is refused before any download; a CSV shared in a channel (not the DM) is not an import."""
    downloads = Downloads(monkeypatch)
    async with slack_app(sqlite_url, tmp_path) as h:
        await h.slack.aio.share_file(OWNER, "photo.png", b"\x89PNG\r\n")
        await h.answer("ni un CSV ni une facture électronique")
        h.slack.add_channel("C0GENERAL", "general")
        await h.slack.aio.share_file(OWNER, "factures.csv", _csv(ROWS), channel="C0GENERAL")
        await h.slack.aio.slash(OWNER, "aide")  # handled after the file event: the file got no answer by then
        await h.answer("Commandes")
        assert downloads.started == 0 and _numbers(h) == []
        assert len(h.slack.calls_of("files.info")) == 1
