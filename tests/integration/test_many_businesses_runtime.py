"""The runtime's one scheduler with several businesses: each business's digest goes out at its own digest time in
its own time zone (the minute check covers every business), once a day, to that business's adapter delivery."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.runtime import Runtime, open_services
from services.context import Clock
from services.core import DigestData
from storage.db import write_session
from tests.bot_harness import bot_settings
from tests.factories import make_business, make_client, make_invoice


class Recorder:
    """An adapter that records which business's digest it was handed, and for which day."""

    name = "recorder"

    def __init__(self) -> None:
        self.digests: list[tuple[int | str, date]] = []

    async def start(self) -> None:
        """Nothing to start."""

    async def stop(self) -> None:
        """Nothing to stop."""

    async def deliver_digest(self, data: DigestData) -> None:
        self.digests.append(("default", data.day))

    async def deliver_digest_of(self, business_id: int, data: DigestData) -> None:
        self.digests.append((business_id, data.day))

    async def on_outcome(self, result: Any) -> None:
        """Not used here."""


def _business(engine: Any, slug: str, tz: str, at: str) -> int:
    with write_session(engine) as s:
        biz = make_business(s, slug=slug, name=slug.title(), timezone=tz, digest_time=at, owner_chat_ids="")
        client = make_client(s, biz, name=f"Client {slug}")
        make_invoice(s, client, due=date(2026, 10, 1), number=f"{slug}-1")
        assert biz.id is not None
        return biz.id


async def test_each_business_digest_at_its_own_local_time(db_url: str, tmp_path: Path) -> None:
    """Paris 08:30 (the install's), Martinique 07:00 and Tokyo 09:00: moving the wall clock through one UTC day,
    each digest goes out at the first check after its local time, once, and never earlier."""
    settings = bot_settings(db_url, tmp_path, None)
    core = open_services(settings)
    martinique = _business(core.engine, "fort-de-france", "America/Martinique", "07:00")
    tokyo = _business(core.engine, "tokyo", "Asia/Tokyo", "09:00")
    recorder = Recorder()
    runtime = Runtime(settings, core, [recorder])  # type: ignore[list-item]
    try:
        runtime.open_businesses()
        assert set(runtime.businesses) == {core.business_id, martinique, tokyo}
        now = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)

        def wall() -> datetime:
            return now

        for business in runtime.businesses.values():
            ctx = business.services.ctx
            ctx.clock = Clock(ctx.clock.tz, None, wall=wall)
        assert runtime.businesses[tokyo].services.ctx.tz == ZoneInfo("Asia/Tokyo")
        steps = [
            (datetime(2026, 11, 24, 4, 0, 30, tzinfo=UTC), [(tokyo, date(2026, 11, 24))]),  # Tokyo 13:00
            (datetime(2026, 11, 24, 7, 29, 30, tzinfo=UTC), []),  # Paris 08:29
            (datetime(2026, 11, 24, 7, 30, 30, tzinfo=UTC), [("default", date(2026, 11, 24))]),  # Paris 08:30
            (datetime(2026, 11, 24, 10, 59, 30, tzinfo=UTC), []),  # Martinique 06:59
            (datetime(2026, 11, 24, 11, 0, 30, tzinfo=UTC), [(martinique, date(2026, 11, 24))]),  # Martinique 07:00
            (datetime(2026, 11, 24, 15, 0, tzinfo=UTC), []),  # once a day
            (datetime(2026, 11, 25, 0, 0, 30, tzinfo=UTC), [(tokyo, date(2026, 11, 25))]),  # Tokyo's next day 09:00
        ]
        for moment, expected in steps:
            now = moment
            recorder.digests.clear()
            await runtime.check_digest()
            assert recorder.digests == expected, moment
        # The minute's one read for every business says what each business's own read says.
        from storage.db import read_session
        from storage.digests import all_digest_facts, digest_facts

        with read_session(core.engine) as session:
            overview = all_digest_facts(session)
            assert overview == {bid: digest_facts(session, business_id=bid) for bid in runtime.businesses}
            assert overview[tokyo].last_digest_day == date(2026, 11, 25)
    finally:
        runtime.health.close()
        core.engine.dispose()


async def test_a_business_smtp_password_changed_while_running_is_used_from_the_next_tick(
    db_url: str, tmp_path: Path
) -> None:
    """`relance business set --smtp-password` on a running deployment: within the minute's check the business's
    sender uses the new password (tried at once, even in an outage's backoff); another business is untouched."""
    from cryptography.fernet import Fernet

    from bot.secrets import encrypt
    from bot.sender import Sender
    from storage import tenants

    settings = bot_settings(db_url, tmp_path, None, RELANCE_SECRET_KEY=Fernet.generate_key().decode())
    core = open_services(settings)
    with write_session(core.engine) as s:
        biz = make_business(s, slug="beta", name="Beta", owner_chat_ids="")
        assert biz.id is not None
        beta = biz.id
        tenants.update_setup(s, business_id=beta, smtp_host="127.0.0.1", smtp_port=2525, smtp_username="factures",
                             smtp_security="none")  # fmt: skip
        tenants.set_secret(s, business_id=beta, name="smtp_password", ciphertext=encrypt(settings, "ancien"))
    runtime = Runtime(settings, core, [])
    try:
        runtime.open_businesses()
        smtp = runtime.businesses[beta].smtp
        assert smtp is not None and smtp.password is not None and smtp.password.get_secret_value() == "ancien"
        sender = Sender(core.engine, smtp, beta)
        sender.smtp_down, sender._next_probe = True, datetime(2100, 1, 1, tzinfo=UTC)  # backing off
        runtime.other_senders.append(sender)
        runtime.refresh_smtp()
        assert sender.config is smtp  # nothing changed: nothing replaced
        with write_session(core.engine) as s:
            tenants.set_secret(s, business_id=beta, name="smtp_password", ciphertext=encrypt(settings, "nouveau"))
        runtime.refresh_smtp()
        assert sender.config is not None and sender.config.password is not None
        assert sender.config.password.get_secret_value() == "nouveau" and sender.config.username == "factures"
        assert sender._next_probe is None  # the next tick tries at once
        delivery = runtime.businesses[beta].services.delivery
        assert getattr(delivery, "config", None) == sender.config
    finally:
        runtime.health.close()
        core.engine.dispose()
