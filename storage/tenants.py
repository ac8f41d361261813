"""The businesses of a shared deployment: their owners in each chat, the business each owner picked last, their
own mail servers and templates folder, and their secrets (stored encrypted: this module only sees ciphertext)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, delete, select

from storage.models import Business, BusinessOwner, BusinessSecret, OwnerChoice
from storage.types import utcnow

CHANNELS = ("telegram", "slack")


@dataclass(frozen=True, slots=True)
class BusinessSetup:
    """What a business of a shared deployment has of its own; None: the deployment's settings apply."""

    templates_dir: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_username: str | None = None
    smtp_security: str | None = None
    imap_host: str | None = None
    imap_port: int | None = None
    imap_username: str | None = None
    imap_folder: str | None = None
    slack_team_id: str | None = None


SETUP_FIELDS = tuple(f.name for f in fields(BusinessSetup))


def _business(session: Session, business_id: int) -> Business:
    business = session.get(Business, business_id)
    if business is None:
        raise LookupError(f"business {business_id} not found")
    return business


def business_setup(session: Session, *, business_id: int) -> BusinessSetup:
    """The business's own servers, templates folder and Slack workspace."""
    business = _business(session, business_id)
    return BusinessSetup(*(getattr(business, name) for name in SETUP_FIELDS))


def update_setup(session: Session, *, business_id: int, **values: Any) -> BusinessSetup:
    """Change some of the business's own servers and folders (in the caller's transaction)."""
    unknown = set(values) - set(SETUP_FIELDS)
    if unknown:
        raise ValueError(f"not setup fields: {', '.join(sorted(unknown))}")
    business = _business(session, business_id)
    for name, value in values.items():
        setattr(business, name, value)
    session.add(business)
    session.flush()
    return business_setup(session, business_id=business_id)


def _check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise ValueError(f"unknown chat {channel!r} (telegram or slack)")


def add_owner(session: Session, *, business_id: int, channel: str, user_id: str) -> bool:
    """Make `user_id` an owner of the business in `channel`; False when they already were."""
    _check_channel(channel)
    _business(session, business_id)
    found = session.exec(
        select(BusinessOwner).where(
            BusinessOwner.business_id == business_id,
            BusinessOwner.channel == channel,
            BusinessOwner.user_id == user_id,
        )
    ).first()
    if found is not None:
        return False
    session.add(BusinessOwner(business_id=business_id, channel=channel, user_id=user_id))
    session.flush()
    return True


def remove_owner(session: Session, *, business_id: int, channel: str, user_id: str) -> bool:
    """`user_id` no longer owns the business in `channel` (their choice of it is forgotten); False if they did not."""
    result = session.execute(
        delete(BusinessOwner).where(
            col(BusinessOwner.business_id) == business_id,
            col(BusinessOwner.channel) == channel,
            col(BusinessOwner.user_id) == user_id,
        )
    )
    session.execute(
        delete(OwnerChoice).where(
            col(OwnerChoice.channel) == channel,
            col(OwnerChoice.user_id) == user_id,
            col(OwnerChoice.business_id) == business_id,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def owners_of(session: Session, *, business_id: int) -> dict[str, list[str]]:
    """The owners of the business per chat (the table's; the Telegram ids of `owner_chat_ids` are added)."""
    result: dict[str, list[str]] = {channel: [] for channel in CHANNELS}
    business = _business(session, business_id)
    for user in business.owner_ids:
        result["telegram"].append(str(user))
    rows = session.exec(
        select(BusinessOwner).where(BusinessOwner.business_id == business_id).order_by(col(BusinessOwner.id))
    ).all()
    for row in rows:
        if row.user_id not in result[row.channel]:
            result[row.channel].append(row.user_id)
    return result


def businesses_of(session: Session, *, channel: str, user_id: str) -> list[int]:
    """The ids of the businesses `user_id` owns in `channel`, in id order (Telegram: `owner_chat_ids` counts too)."""
    _check_channel(channel)
    ids = set(
        session.exec(
            select(BusinessOwner.business_id).where(BusinessOwner.channel == channel, BusinessOwner.user_id == user_id)
        ).all()
    )
    if channel == "telegram" and user_id.isdigit():
        for business in session.exec(select(Business).where(col(Business.owner_chat_ids).contains(user_id))).all():
            if int(user_id) in business.owner_ids and business.id is not None:
                ids.add(business.id)
    return sorted(ids)


def choose(session: Session, *, channel: str, user_id: str, business_id: int) -> None:
    """Remember that `user_id` now works on `business_id` in `channel` (ValueError when they do not own it)."""
    if business_id not in businesses_of(session, channel=channel, user_id=user_id):
        raise ValueError("not an owner of this business")
    choice = session.get(OwnerChoice, (channel, user_id))
    if choice is None:
        choice = OwnerChoice(channel=channel, user_id=user_id, business_id=business_id)
    choice.business_id = business_id
    choice.chosen_at = utcnow()
    session.add(choice)
    session.flush()


def chosen(session: Session, *, channel: str, user_id: str) -> int | None:
    """The business `user_id` picked last in `channel`, while they still own it; else None."""
    choice = session.get(OwnerChoice, (channel, user_id))
    if choice is None:
        return None
    if choice.business_id not in businesses_of(session, channel=channel, user_id=user_id):
        return None
    return choice.business_id


def set_secret(session: Session, *, business_id: int, name: str, ciphertext: str | None) -> None:
    """Store (or with None, remove) the business's secret `name`, already encrypted by the caller."""
    _business(session, business_id)
    row = session.exec(
        select(BusinessSecret).where(BusinessSecret.business_id == business_id, BusinessSecret.name == name)
    ).first()
    if ciphertext is None:
        if row is not None:
            session.delete(row)
            session.flush()
        return
    if row is None:
        row = BusinessSecret(business_id=business_id, name=name, ciphertext=ciphertext)
    row.ciphertext = ciphertext
    row.updated_at = utcnow()
    session.add(row)
    session.flush()


def secret(session: Session, *, business_id: int, name: str) -> str | None:
    """The stored ciphertext of the business's secret `name`, or None."""
    row = session.exec(
        select(BusinessSecret).where(BusinessSecret.business_id == business_id, BusinessSecret.name == name)
    ).first()
    return row.ciphertext if row is not None else None


def secret_names(session: Session, *, business_id: int) -> list[str]:
    """The names of the secrets the business has (never their values)."""
    return sorted(session.exec(select(BusinessSecret.name).where(BusinessSecret.business_id == business_id)).all())


def business_of_team(session: Session, *, team_id: str) -> int | None:
    """The business connected to the Slack workspace `team_id`, or None."""
    return session.exec(select(Business.id).where(Business.slack_team_id == team_id)).first()


def card_businesses(session: Session, *, channel: str, chat_id: str, message_id: str) -> list[int]:
    """The businesses that registered the chat message (chat_id, message_id) of `channel` as one of their cards."""
    from storage.models import Card

    return sorted(
        set(
            session.exec(
                select(Card.business_id).where(
                    Card.channel == channel, Card.chat_id == chat_id, Card.message_id == message_id
                )
            ).all()
        )
    )


def smtp_signatures(session: Session) -> dict[int, tuple[object, ...]]:
    """Every business's own SMTP settings as they stand, password as its ciphertext (never decrypted here): read in
    one query each minute, so only a business whose settings changed is read again in full."""
    secret = BusinessSecret.__table__  # type: ignore[attr-defined]
    table = Business.__table__  # type: ignore[attr-defined]
    stmt = sa_select(
        table.c.id, table.c.smtp_host, table.c.smtp_port, table.c.smtp_username, table.c.smtp_security,
        secret.c.ciphertext,
    ).select_from(
        table.outerjoin(secret, (secret.c.business_id == table.c.id) & (secret.c.name == "smtp_password"))
    )  # fmt: skip
    rows = session.execute(stmt).all()
    return {row[0]: tuple(row[1:]) for row in rows if row[0] is not None}
