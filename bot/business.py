"""The single-business install: its business row brought in line with the settings (only when asked), and the
business context the services take, built from the settings.

This is the one place where the slug "default" appears: a single-business install builds its business from the
settings. Reading commands (`status`, `digest --json`, `preview`, `verify`, `evidence`) only look the business up;
`relance run` and `relance config apply` apply the settings, each changed field being a `settings_changed` entry.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.settings import Settings, SettingsError, mailbox_config, smtp_config
from dunning.ladder import DEFAULT_LADDER, Ladder, LadderError, ladder_from_toml
from dunning.penalties import RateTable, RateTableError
from messages.render import Renderer, verdict_dir
from services.context import BusinessContext, Clock
from services.core import Services
from services.delivery import Delivery, OutboxDelivery, TemplateDrafter
from services.eml import EmlDelivery
from services.rates import load_rate_table
from storage import businesses
from storage.businesses import BusinessRow
from storage.db import Engine, Session, read_session, write_session
from storage.evidence import record

DEFAULT_SLUG = "default"


def settings_fields(settings: Settings) -> dict[str, Any]:
    """The business fields the settings define, as stored on the business row."""
    ladder_text = None
    if settings.LADDER_FILE is not None:
        try:
            ladder_text = Path(settings.LADDER_FILE).read_text(encoding="utf-8")
        except OSError as exc:
            raise SettingsError(f"LADDER_FILE: cannot read {settings.LADDER_FILE}: {exc.strerror or exc}") from None
    return {
        "name": settings.COMPANY_NAME,
        "address": settings.COMPANY_ADDRESS,
        "siren": settings.COMPANY_SIREN,
        "vat_number": settings.COMPANY_VAT_NUMBER,
        "iban": settings.COMPANY_IBAN,
        "bic": settings.COMPANY_BIC,
        "phone": settings.COMPANY_PHONE,
        "email": settings.MAIL_FROM or "",
        "reply_to": settings.MAIL_REPLY_TO or "",
        "owner_chat_ids": ",".join(str(i) for i in settings.owner_ids),
        "timezone": settings.TIMEZONE,
        "digest_time": settings.DIGEST_TIME,
        "send_window_start": settings.send_window[0],
        "send_window_end": settings.send_window[1],
        "preferred_weekdays": settings.PREFERRED_WEEKDAYS,
        "formal_notice_days": settings.FORMAL_NOTICE_DAYS,
        "ladder_toml": ladder_text,
    }


def settings_ladder(settings: Settings) -> Ladder:
    """The ladder the settings configure (LADDER_FILE, else the default); SettingsError naming the file if broken."""
    text = settings_fields(settings)["ladder_toml"]
    if text is None:
        return DEFAULT_LADDER
    try:
        return ladder_from_toml(text, source=str(settings.LADDER_FILE))
    except LadderError as exc:
        raise SettingsError(f"LADDER_FILE: {exc}") from None


def find_business(session: Session, slug: str = DEFAULT_SLUG) -> BusinessRow | None:
    """The business of the install, or None before its first `relance run` / `config apply` / import."""
    return businesses.find_business(session, slug=slug)


def apply_settings(session: Session, settings: Settings, *, actor: str) -> tuple[BusinessRow, list[str]]:
    """Bring the install's business in line with the settings; return it and the names of the changed fields.

    A field takes the setting's value when the business is new or when the setting's value differs from the one
    applied last time; a value the owner changed in the chat since then is kept while the setting stays the same.
    Each change is a `settings_changed` evidence entry with the old and the new value (no secret is a field here).
    """
    fields = settings_fields(settings)
    business = find_business(session)
    if business is None:
        applied_now = json.dumps(fields, sort_keys=True)
        business = businesses.create_business(
            session, slug=DEFAULT_SLUG, values={**fields, "settings_applied": applied_now}
        )
        record(session, actor=actor, kind="settings_changed", business_id=business.id,
               payload={"created": True, "fields": sorted(fields)})  # fmt: skip
        return business, sorted(fields)
    applied: dict[str, Any] = json.loads(business.settings_applied) if business.settings_applied else {}
    changed: list[str] = []
    updates: dict[str, Any] = {}
    for name, value in fields.items():
        current = getattr(business, name)
        if name in applied and applied[name] == value:
            continue  # the setting did not change since it was applied: the chat's choice (if any) stays
        if current != value:
            updates[name] = value
            changed.append(name)
            old, new = current, value
            if name == "ladder_toml":  # the ladder is long: its presence tells what changed
                old, new = ("custom" if current else "built-in"), ("custom" if value else "built-in")
            record(session, actor=actor, kind="settings_changed", business_id=business.id,
                   payload={"field": name, "old": old, "new": new, "source": "settings"})  # fmt: skip
    if applied != fields:
        updates["settings_applied"] = json.dumps(fields, sort_keys=True)
    if updates:
        business = businesses.update_business(session, business_id=business.id, **updates)
    return business, changed


def load_rates(settings: Settings, business_rates: str | None = None) -> RateTable:
    """The penalty rate table: built-in, RATES_FILE, then the rates added from the chat; a bad file stops start-up."""
    try:
        return load_rate_table(settings.RATES_FILE, business_rates)
    except RateTableError as exc:
        raise SettingsError(f"RATES_FILE: {exc}") from None
    except OSError as exc:
        raise SettingsError(f"RATES_FILE: cannot read {settings.RATES_FILE}: {exc.strerror or exc}") from None


#: The renderer of the built-in templates for the commands and the runtime (built once per process).
_builtin: list[Renderer] = []


def renderer_for(settings: Settings) -> Renderer:
    """The template renderer: the owner's TEMPLATES_DIR first, then the built-in templates. Its check remembers a
    pass between processes (messages.render.verdict_dir): a restart with the same template files, ladder steps,
    code and packages does not render every sample again; any change, or a check that failed, runs it in full."""
    if settings.TEMPLATES_DIR:
        return Renderer(settings.TEMPLATES_DIR, verdicts=verdict_dir())
    if not _builtin:
        _builtin.append(Renderer(verdicts=verdict_dir()))
    return _builtin[0]


def today_for(settings: Settings, given: date | None = None) -> date:
    """The business day: `given` (a --today option; a datetime counts by its date), else RELANCE_TODAY (tests,
    demos), else the current date in the business time zone. Every command line asks this one place."""
    if isinstance(given, datetime):
        given = given.date()
    return Clock(settings.tz, given if given is not None else settings.RELANCE_TODAY).today()


def build_context(
    engine: Engine,
    settings: Settings,
    *,
    delivery: Delivery | None = None,
    today: date | None = None,
    apply: bool = False,
    actor: str = "system",
    renderer: Renderer | None = None,
) -> BusinessContext:
    """The business context of a single-business install. With `apply`, the settings are applied first (start of
    `relance run`); otherwise the business is only read (created from the settings on a fresh database)."""
    with write_session(engine) if apply else read_session(engine) as session:
        business = apply_settings(session, settings, actor=actor)[0] if apply else find_business(session)
        if business is None:
            # A fresh database: the business is created from the settings on first use; nothing to overwrite.
            with write_session(engine) as creating:
                business = apply_settings(creating, settings, actor=actor)[0]
        business_id, owners, tz_name, rates_text = (
            business.id,
            frozenset(business.owner_ids),
            business.timezone,
            business.rates_toml,
        )
    rates = load_rates(settings, rates_text)
    clock = Clock(ZoneInfo(tz_name), today if today is not None else settings.RELANCE_TODAY)
    chosen = renderer if renderer is not None else renderer_for(settings)
    return BusinessContext(
        engine=engine,
        business_id=business_id,
        owner_ids=owners,
        clock=clock,
        rate_table=rates,
        drafter=TemplateDrafter(chosen, rate_table=rates),
        delivery=delivery if delivery is not None else default_delivery(settings),
        mail_from=settings.MAIL_FROM or "",
        reply_to=settings.MAIL_REPLY_TO or "",
        slug=DEFAULT_SLUG,
        data_dir=str(settings.DATA_DIR),
        mailbox=mailbox_config(settings),
    )


def default_delivery(settings: Settings) -> Delivery:
    """SMTP through the outbox when SMTP_HOST is set, else `.eml` files under DATA_DIR/outbox (nothing leaves)."""
    if settings.SMTP_HOST:
        return OutboxDelivery(smtp_config(settings))
    return EmlDelivery(Path(settings.DATA_DIR) / "outbox")


def open_services(engine: Engine, settings: Settings, **kw: Any) -> Services:
    """The use cases of the install's business."""
    return Services(build_context(engine, settings, **kw))
