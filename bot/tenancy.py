"""Many businesses behind one bot: each business's services built from its row, and which business an owner's
update is about (the owners in each chat, the business an owner of several picked with /entreprise).

The default business (slug "default") keeps its settings-built context; every other business gets its own time zone,
identity, templates folder, mail servers (passwords decrypted with RELANCE_SECRET_KEY, bot/secrets.py) and data
folder. Routing is decided in memory (the owner gate runs before every update); the owners and choices are read
from the database at start and again by `refresh` (the runtime calls it every minute, so an owner added with
`relance business set` is served within a minute).
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

from pydantic import SecretStr

from bot.business import DEFAULT_SLUG, load_rates
from bot.presenter import Presenter
from bot.secrets import decrypt
from bot.settings import Settings
from messages.delivery import Security, SmtpConfig
from messages.imap import MailboxConfig
from messages.render import Renderer, default_renderer
from services.context import BusinessContext, Clock
from services.core import Services
from services.delivery import Delivery, OutboxDelivery, TemplateDrafter
from services.eml import EmlDelivery
from storage import businesses, tenants
from storage.businesses import BusinessRow
from storage.db import Engine, Session, read_session, write_session

log = logging.getLogger(__name__)


@dataclass
class Business:
    """One business of the deployment as the bot serves it."""

    services: Services
    name: str
    smtp: SmtpConfig | None = None  # its own SMTP account (None: the deployment's, default business only)


def _secret(settings: Settings, session: Session, business_id: int, name: str) -> SecretStr | None:
    token = tenants.secret(session, business_id=business_id, name=name)
    return SecretStr(decrypt(settings, token, name=name)) if token is not None else None


def _smtp(settings: Settings, setup: tenants.BusinessSetup, password: SecretStr | None) -> SmtpConfig | None:
    if not setup.smtp_host:
        return None
    return SmtpConfig(
        host=setup.smtp_host,
        port=setup.smtp_port or 587,
        username=setup.smtp_username or None,
        password=password,
        security=cast(Security, setup.smtp_security or "starttls"),
        timeout=settings.SMTP_TIMEOUT,
    )


def smtp_of(engine: Engine, settings: Settings, business_id: int) -> SmtpConfig | None:
    """A business's own SMTP account as the database has it now (`relance business set` on a running deployment)."""
    with read_session(engine) as session:
        setup = tenants.business_setup(session, business_id=business_id)
        password = _secret(settings, session, business_id, "smtp_password")
    return _smtp(settings, setup, password)


def business_services(engine: Engine, settings: Settings, row: BusinessRow) -> Business:
    """The services of a business other than the default one, from its row (its own clock, identity, servers)."""
    with read_session(engine) as session:
        setup = tenants.business_setup(session, business_id=row.id)
        owners = tenants.owners_of(session, business_id=row.id)["telegram"]
        smtp_password = _secret(settings, session, row.id, "smtp_password")
        imap_password = _secret(settings, session, row.id, "imap_password")
    rates = load_rates(settings, row.rates_toml)
    renderer: Renderer = Renderer(Path(setup.templates_dir)) if setup.templates_dir else default_renderer()
    data_dir = Path(settings.DATA_DIR) / row.slug
    smtp = _smtp(settings, setup, smtp_password)
    # Nothing leaves without the business's own SMTP account: its e-mails are written as .eml files meanwhile.
    delivery: Delivery = OutboxDelivery(smtp) if smtp is not None else EmlDelivery(data_dir / "outbox")
    mailbox = None
    if setup.imap_host and setup.imap_username and imap_password is not None:
        mailbox = MailboxConfig(
            host=setup.imap_host,
            port=setup.imap_port or 993,
            username=setup.imap_username,
            password=imap_password,
            folder=setup.imap_folder or "INBOX",
        )
    ctx = BusinessContext(
        engine=engine,
        business_id=row.id,
        owner_ids=frozenset(int(o) for o in owners),
        clock=Clock(ZoneInfo(row.timezone), settings.RELANCE_TODAY),
        rate_table=rates,
        drafter=TemplateDrafter(renderer, rate_table=rates),
        delivery=delivery,
        mail_from=row.email,
        reply_to=row.reply_to,
        slug=row.slug,
        data_dir=str(data_dir),
        mailbox=mailbox,
    )
    return Business(Services(ctx), row.name, smtp)


def open_businesses(engine: Engine, settings: Settings, default: Services) -> dict[int, Business]:
    """Every business of the database, the default one with its settings-built services first."""
    with read_session(engine) as session:
        rows = businesses.all_businesses(session)
    result: dict[int, Business] = {}
    for row in rows:
        if row.id == default.business_id or row.slug == DEFAULT_SLUG:
            if row.id == default.business_id:
                result[row.id] = Business(default, row.name)
            continue
        result[row.id] = business_services(engine, settings, row)
    return result


@dataclass
class Tenancy:
    """Which business an update is about, per chat: the owners of each business and each owner's choice."""

    engine: Engine
    channel: str  # "telegram" or "slack"
    presenters: dict[int, Presenter]
    names: dict[int, str]
    _owned: dict[str, list[int]] = field(default_factory=dict)
    _choice: dict[str, int] = field(default_factory=dict)

    def refresh(self) -> None:
        """Read the owners and choices again (owners added or removed with `relance business set`)."""
        owned: dict[str, list[int]] = {}
        choice: dict[str, int] = {}
        with read_session(self.engine) as session:
            for business_id in sorted(self.presenters):
                for user in tenants.owners_of(session, business_id=business_id)[self.channel]:
                    owned.setdefault(user, []).append(business_id)
            for user in owned:
                picked = tenants.chosen(session, channel=self.channel, user_id=user)
                if picked is not None:
                    choice[user] = picked
        self._owned, self._choice = owned, choice

    def businesses_of(self, user_id: object) -> list[int]:
        """The businesses this user owns in this chat, by id."""
        return list(self._owned.get(str(user_id), []))

    def current(self, user_id: object) -> int | None:
        """The business the user's updates are about: their choice, else the first they own; None for a stranger."""
        owned = self._owned.get(str(user_id))
        if not owned:
            return None
        picked = self._choice.get(str(user_id))
        return picked if picked in owned else owned[0]

    def route(self, user_id: object, tapped: tuple[str, str] | None = None) -> int | None:
        """The business an update of `user_id` is about: for a button on a card (chat id, message id) of one of
        their businesses, that business (an owner of several acts on the digest card in front of them); else
        their current one. None for a stranger."""
        owned = self._owned.get(str(user_id))
        if not owned:
            return None
        if tapped is not None and len(owned) > 1:
            some = next(iter(self.presenters.values()))
            with read_session(self.engine) as session:
                found = tenants.card_businesses(session, channel=some.channel, chat_id=tapped[0], message_id=tapped[1])
            mine = [bid for bid in found if bid in owned]
            if len(mine) == 1:
                return mine[0]
        return self.current(user_id)

    def head_of(self, user_id: object, business_id: int) -> str | None:
        """ "🏢 <name>" of `business_id` for an owner of several businesses, else None."""
        if len(self._owned.get(str(user_id), [])) < 2:
            return None
        return f"🏢 {html.escape(self.names[business_id], quote=False)}"

    def presenter_for(self, user_id: object) -> Presenter | None:
        """The presenter of the user's current business, or None for a stranger."""
        business_id = self.current(user_id)
        return self.presenters.get(business_id) if business_id is not None else None

    def head(self, user_id: object) -> str | None:
        """ "🏢 <name>" of the current business for an owner of several (every card and answer says which)."""
        business_id = self.current(user_id)
        return self.head_of(user_id, business_id) if business_id is not None else None

    def choose(self, user_id: object, business_id: int) -> bool:
        """Remember the user's choice (database and memory); False when they do not own that business."""
        if business_id not in self._owned.get(str(user_id), []):
            return False
        with write_session(self.engine) as session:
            tenants.choose(session, channel=self.channel, user_id=str(user_id), business_id=business_id)
        self._choice[str(user_id)] = business_id
        return True

    def owners_of(self, business_id: int) -> list[str]:
        """The users owning `business_id` in this chat."""
        return [user for user, owned in self._owned.items() if business_id in owned]


def make_tenancy(engine: Engine, channel: str, opened: dict[int, Business], *, cards: str = "telegram") -> Tenancy:
    """A tenancy over the opened businesses for `channel` (telegram, slack), each with a presenter whose cards are
    kept under `cards` (the adapter's channel: "slack:<team id>"), owners and choices read now."""
    tenancy = Tenancy(
        engine,
        channel,
        {bid: Presenter(b.services, channel=cards) for bid, b in opened.items()},
        {bid: b.name for bid, b in opened.items()},
    )
    tenancy.refresh()
    return tenancy
