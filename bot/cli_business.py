"""`relance business add|list|show|set|pause`: the businesses of a shared deployment (an accounting firm, a host).

Registered on the typer app of bot/cli.py. Passwords and tokens are encrypted with RELANCE_SECRET_KEY before they
reach the database (bot/secrets.py) and shown as "••••". Every change is a `settings_changed` evidence entry of the
business (a secret's entry says that it changed, never its value). Exit codes: 0 done, 1 refused (unknown business,
slug taken), 2 a bad value or a missing key; nothing is written when a value is refused.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from sqlalchemy.exc import SQLAlchemyError

from bot.secrets import MASK, SecretKeyError, encrypt
from bot.settings import Settings, SettingsError, load_settings
from dunning.ladder import LadderError, ladder_from_toml
from storage import businesses, tenants
from storage.businesses import BusinessRow
from storage.db import Engine, Session, make_engine, read_session, write_session
from storage.evidence import record

business_app = typer.Typer(help="The businesses of a shared deployment (owners, clock, mail servers).",
                           no_args_is_help=True)  # fmt: skip

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,40}$")
_TEAM_ID = re.compile(r"^T[A-Z0-9]{2,30}$")
_SECURITY = ("none", "starttls", "tls")


class _Refused(Exception):
    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"relance: {message}", err=True)
    return typer.Exit(code)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise _fail(str(exc), 2) from None


def _engine(settings: Settings) -> Engine:
    try:
        return make_engine(settings.DATABASE_URL, admin_url=settings.DATABASE_ADMIN_URL)
    except SQLAlchemyError as exc:
        raise _fail(f"DATABASE_URL: cannot open the database ({type(exc).__name__})", 2) from None


def _find(session: Session, slug: str) -> BusinessRow:
    row = businesses.find_business(session, slug=slug)
    if row is None:
        raise _Refused(f"no business {slug!r} (relance business list)", 1)
    return row


# The options add and set share; None: not given (set keeps the value).
Name = Annotated[str | None, typer.Option("--name", help="The business's name, as clients read it.")]
Address = Annotated[str | None, typer.Option("--address", help="Postal address (one line; commas allowed).")]
Siren = Annotated[str | None, typer.Option("--siren", help="SIREN (9 digits).")]
Vat = Annotated[str | None, typer.Option("--vat-number", help="Intra-EU VAT number, e.g. FR40123456824.")]
Iban = Annotated[str | None, typer.Option("--iban", help="IBAN clients pay to.")]
Bic = Annotated[str | None, typer.Option("--bic", help="BIC of that account.")]
Phone = Annotated[str | None, typer.Option("--phone", help="Phone number shown in reminders.")]
Email = Annotated[str | None, typer.Option("--email", help="Sender address of the reminders (From).")]
ReplyTo = Annotated[str | None, typer.Option("--reply-to", help="Reply-To address of the reminders.")]
Tz = Annotated[str | None, typer.Option("--timezone", help="IANA time zone, e.g. Europe/Paris.")]
Digest = Annotated[str | None, typer.Option("--digest-time", help="Local time of the morning digest, HH:MM.")]
Ladder = Annotated[Path | None, typer.Option("--ladder", help="A ladder TOML file (see ladder.example.toml).")]
Templates = Annotated[Path | None, typer.Option("--templates", help="A folder of this business's own templates.")]
Owner = Annotated[
    list[str] | None,
    typer.Option("--owner", help="Add an owner: telegram:<user id> or slack:<member id> (repeatable)."),
]
NotOwner = Annotated[
    list[str] | None, typer.Option("--remove-owner", help="Remove an owner (same form as --owner; repeatable).")
]
SmtpHost = Annotated[str | None, typer.Option("--smtp-host", help="This business's SMTP server.")]
SmtpPort = Annotated[int | None, typer.Option("--smtp-port", min=1, max=65535, help="Its port.")]
SmtpUser = Annotated[str | None, typer.Option("--smtp-username", help="Its login.")]
SmtpSecurity = Annotated[str | None, typer.Option("--smtp-security", help="none, starttls or tls.")]
SmtpPassword = Annotated[
    str | None, typer.Option("--smtp-password", help="Its password, encrypted at rest ('-': read from stdin).")
]
ImapHost = Annotated[str | None, typer.Option("--imap-host", help="The mailbox where clients' replies arrive.")]
ImapPort = Annotated[int | None, typer.Option("--imap-port", min=1, max=65535, help="Its port.")]
ImapUser = Annotated[str | None, typer.Option("--imap-username", help="Its login.")]
ImapFolder = Annotated[str | None, typer.Option("--imap-folder", help="The folder to watch (INBOX).")]
ImapPassword = Annotated[
    str | None, typer.Option("--imap-password", help="Its password, encrypted at rest ('-': read from stdin).")
]
SlackTeam = Annotated[str | None, typer.Option("--slack-team", help="The business's own Slack workspace id (T…).")]
SlackToken = Annotated[
    str | None, typer.Option("--slack-bot-token", help="That workspace's bot token (xoxb-…), encrypted at rest.")
]
SlackAppToken = Annotated[
    str | None,
    typer.Option(
        "--slack-app-token", help="That Slack app's app-level token (xapp-…, Socket Mode), encrypted at rest."
    ),
]


@dataclass
class _Changes:
    """What one add/set asks, checked before anything is written."""

    fields: dict[str, Any]
    setup: dict[str, Any]
    secrets: dict[str, str]
    owners: list[tuple[str, str]]
    not_owners: list[tuple[str, str]]


def _owner(text: str) -> tuple[str, str]:
    channel, _, user = text.partition(":")
    channel, user = channel.strip().lower(), user.strip()
    if channel == "telegram" and user.isdigit():
        return channel, str(int(user))
    if channel == "slack" and _SLACK_ID.match(user):
        return channel, user
    raise _Refused(f"--owner {text!r}: telegram:<numeric user id> or slack:<member id such as U012AB3CD>")


def _secret_value(option: str, value: str) -> str:
    if value == "-":
        value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise _Refused(f"{option}: empty")
    return value


def _changes(values: dict[str, Any], settings: Settings) -> _Changes:
    """The checked changes; _Refused naming the option for a bad value, before anything is written."""
    fields: dict[str, Any] = {}
    for name in ("name", "address", "siren", "phone", "email", "reply_to"):
        if values[name] is not None:
            fields[name] = values[name].strip()
    if "name" in fields and not fields["name"]:
        raise _Refused("--name: empty")
    if values["iban"] is not None or values["bic"] is not None:
        from messages.banking import validate_payment_details

        iban = (values["iban"] or "").replace(" ", "").upper()
        bic = (values["bic"] or "").replace(" ", "").upper()
        try:
            validate_payment_details(iban, bic)
        except ValueError as exc:
            raise _Refused(f"--iban/--bic: {exc}") from None
        if values["iban"] is not None:
            fields["iban"] = iban
        if values["bic"] is not None:
            fields["bic"] = bic
    if values["vat_number"] is not None:
        from stdnum.eu import vat as eu_vat
        from stdnum.exceptions import ValidationError

        try:
            fields["vat_number"] = str(eu_vat.validate(values["vat_number"])) if values["vat_number"].strip() else ""
        except ValidationError as exc:
            raise _Refused(f"--vat-number: {exc}") from None
    if values["timezone"] is not None:
        try:
            ZoneInfo(values["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise _Refused(f"--timezone {values['timezone']!r}: an IANA time zone such as Europe/Paris") from None
        fields["timezone"] = values["timezone"]
    if values["digest_time"] is not None:
        if not _TIME.match(values["digest_time"]):
            raise _Refused(f"--digest-time {values['digest_time']!r}: HH:MM, e.g. 08:30")
        fields["digest_time"] = values["digest_time"]
    if values["ladder"] is not None:
        path: Path = values["ladder"]
        try:
            text = path.read_text(encoding="utf-8")
            ladder_from_toml(text, source=str(path))
        except OSError as exc:
            raise _Refused(f"--ladder: cannot read {path}: {exc.strerror or exc}") from None
        except LadderError as exc:
            raise _Refused(f"--ladder: {exc}") from None
        fields["ladder_toml"] = text
    setup: dict[str, Any] = {}
    if values["templates"] is not None:
        folder: Path = values["templates"]
        if not folder.is_dir():
            raise _Refused(f"--templates: {folder} is not a folder")
        setup["templates_dir"] = str(folder.resolve())
    for name in ("smtp_host", "smtp_username", "imap_host", "imap_username", "imap_folder"):
        if values[name] is not None:
            setup[name] = values[name].strip() or None
    for name in ("smtp_port", "imap_port"):
        if values[name] is not None:
            setup[name] = values[name]
    if values["smtp_security"] is not None:
        if values["smtp_security"] not in _SECURITY:
            raise _Refused(f"--smtp-security {values['smtp_security']!r}: none, starttls or tls")
        setup["smtp_security"] = values["smtp_security"]
    if values["slack_team"] is not None:
        team = values["slack_team"].strip()
        if team and not _TEAM_ID.match(team):
            raise _Refused(f"--slack-team {team!r}: a Slack workspace id such as T012AB3CD")
        setup["slack_team_id"] = team or None
    secrets: dict[str, str] = {}
    for name, option in (
        ("smtp_password", "--smtp-password"),
        ("imap_password", "--imap-password"),
        ("slack_bot_token", "--slack-bot-token"),
        ("slack_app_token", "--slack-app-token"),
    ):
        if values[name] is not None:
            secrets[name] = _secret_value(option, values[name])
    for name, prefix in (("slack_bot_token", "xoxb-"), ("slack_app_token", "xapp-")):
        if name in secrets and not secrets[name].startswith(prefix):  # the value itself is never echoed
            raise _Refused(f"--{name.replace('_', '-')}: not a Slack {'bot' if prefix == 'xoxb-' else 'app-level'} "
                           f"token (it starts with {prefix})")  # fmt: skip
    try:
        encrypted = {name: encrypt(settings, plain) for name, plain in secrets.items()}
    except SecretKeyError as exc:
        raise _Refused(str(exc)) from None
    return _Changes(
        fields=fields,
        setup=setup,
        secrets=encrypted,
        owners=[_owner(o) for o in values["owner"] or []],
        not_owners=[_owner(o) for o in values["remove_owner"] or []],
    )


def _apply(session: Session, business_id: int, changes: _Changes, *, before: BusinessRow | None) -> list[str]:
    """Write the changes and their evidence entries (one transaction); the names of what changed."""
    changed: list[str] = []

    def note(field: str, payload: dict[str, Any]) -> None:
        changed.append(field)
        record(session, actor="cli", kind="settings_changed", business_id=business_id,
               payload={"field": field, "source": "cli", **payload})  # fmt: skip

    if changes.fields:
        for name, value in changes.fields.items():
            old = getattr(before, name) if before is not None else None
            if before is not None and old == value:
                continue
            if name == "ladder_toml":
                old, value_shown = ("custom" if old else "built-in"), "custom"
            else:
                value_shown = value
            if before is not None:
                note(name, {"old": old, "new": value_shown})
        businesses.update_business(session, business_id=business_id, **changes.fields)
    if changes.setup:
        current = tenants.business_setup(session, business_id=business_id)
        for name, value in changes.setup.items():
            if getattr(current, name) != value:
                note(name, {"old": getattr(current, name), "new": value})
        tenants.update_setup(session, business_id=business_id, **changes.setup)
    for name, ciphertext in changes.secrets.items():
        tenants.set_secret(session, business_id=business_id, name=name, ciphertext=ciphertext)
        note(name, {"changed": True})  # never the value, not even encrypted
    for channel, user in changes.owners:
        if tenants.add_owner(session, business_id=business_id, channel=channel, user_id=user):
            note("owner", {"added": f"{channel}:{user}"})
    for channel, user in changes.not_owners:
        if tenants.remove_owner(session, business_id=business_id, channel=channel, user_id=user):
            note("owner", {"removed": f"{channel}:{user}"})
    return changed


def _run(work: Any) -> Any:
    """Run `work(settings, engine)`; a refusal is one line on stderr with its exit code."""
    settings = _settings()
    engine = _engine(settings)
    try:
        return work(settings, engine)
    except _Refused as exc:
        raise _fail(str(exc), exc.code) from None
    finally:
        engine.dispose()


@business_app.command("add")
def add_command(
    slug: Annotated[str, typer.Argument(help="A short unique id: lowercase letters, digits and dashes.")],
    name: Name = None, address: Address = None, siren: Siren = None, vat_number: Vat = None,
    iban: Iban = None, bic: Bic = None, phone: Phone = None, email: Email = None, reply_to: ReplyTo = None,
    timezone: Tz = None, digest_time: Digest = None, ladder: Ladder = None, templates: Templates = None,
    owner: Owner = None, remove_owner: NotOwner = None,
    smtp_host: SmtpHost = None, smtp_port: SmtpPort = None, smtp_username: SmtpUser = None,
    smtp_security: SmtpSecurity = None, smtp_password: SmtpPassword = None,
    imap_host: ImapHost = None, imap_port: ImapPort = None, imap_username: ImapUser = None,
    imap_folder: ImapFolder = None, imap_password: ImapPassword = None,
    slack_team: SlackTeam = None, slack_bot_token: SlackToken = None, slack_app_token: SlackAppToken = None,
) -> None:  # fmt: skip
    """Add a business (its name is required; the other values may be set later with `relance business set`)."""
    values = dict(locals())

    def work(settings: Settings, engine: Engine) -> None:
        if not _SLUG.match(slug):
            raise _Refused(f"{slug!r}: a slug is lowercase letters, digits and dashes (at most 64)")
        if not (name or "").strip():
            raise _Refused("--name: required for a new business")
        changes = _changes(values, settings)
        with write_session(engine) as session:
            if businesses.find_business(session, slug=slug) is not None:
                raise _Refused(f"a business {slug!r} already exists (relance business set {slug} …)", 1)
            row = businesses.create_business(session, slug=slug, values=changes.fields)
            record(session, actor="cli", kind="settings_changed", business_id=row.id,
                   payload={"created": True, "source": "cli", "fields": sorted(changes.fields)})  # fmt: skip
            _apply(session, row.id, _Changes({}, changes.setup, changes.secrets, changes.owners, []), before=row)
        typer.echo(f"business {slug!r} added")

    _run(work)


@business_app.command("set")
def set_command(
    slug: Annotated[str, typer.Argument(help="The business (relance business list).")],
    name: Name = None, address: Address = None, siren: Siren = None, vat_number: Vat = None,
    iban: Iban = None, bic: Bic = None, phone: Phone = None, email: Email = None, reply_to: ReplyTo = None,
    timezone: Tz = None, digest_time: Digest = None, ladder: Ladder = None, templates: Templates = None,
    owner: Owner = None, remove_owner: NotOwner = None,
    smtp_host: SmtpHost = None, smtp_port: SmtpPort = None, smtp_username: SmtpUser = None,
    smtp_security: SmtpSecurity = None, smtp_password: SmtpPassword = None,
    imap_host: ImapHost = None, imap_port: ImapPort = None, imap_username: ImapUser = None,
    imap_folder: ImapFolder = None, imap_password: ImapPassword = None,
    slack_team: SlackTeam = None, slack_bot_token: SlackToken = None, slack_app_token: SlackAppToken = None,
) -> None:  # fmt: skip
    """Change some values of a business; each change is an evidence entry."""
    values = dict(locals())

    def work(settings: Settings, engine: Engine) -> None:
        changes = _changes(values, settings)
        with write_session(engine) as session:
            row = _find(session, slug)
            changed = _apply(session, row.id, changes, before=row)
        typer.echo(f"{slug}: {len(changed)} change(s)" + (f": {', '.join(dict.fromkeys(changed))}" if changed else ""))

    _run(work)


@business_app.command("pause")
def pause_command(
    slug: Annotated[str, typer.Argument(help="The business.")],
    resume: Annotated[bool, typer.Option("--resume", help="Resume the reminders instead.")] = False,
) -> None:
    """Pause a business's reminders (no digest proposes any; queued e-mails wait), or resume them."""

    def work(settings: Settings, engine: Engine) -> None:
        with write_session(engine) as session:
            row = _find(session, slug)
            if row.paused != (not resume):
                businesses.update_business(session, business_id=row.id, paused=not resume)
                record(session, actor="cli", kind="settings_changed", business_id=row.id,
                       payload={"field": "paused", "old": row.paused, "new": not resume, "source": "cli"})  # fmt: skip
        typer.echo(f"{slug}: {'resumed' if resume else 'paused'}")

    _run(work)


@business_app.command("list")
def list_command() -> None:
    """Every business: slug, name, time zone, digest time, owners, paused."""

    def work(settings: Settings, engine: Engine) -> None:
        with read_session(engine) as session:
            for row in businesses.all_businesses(session):
                owners = tenants.owners_of(session, business_id=row.id)
                count = sum(len(ids) for ids in owners.values())
                state = "  paused" if row.paused else ""
                typer.echo(f"{row.slug}\t{row.name}\t{row.timezone} {row.digest_time}\t{count} owner(s){state}")

    _run(work)


@business_app.command("show")
def show_command(slug: Annotated[str, typer.Argument(help="The business.")]) -> None:
    """One business in full; passwords and tokens are shown as ••••, never in clear."""

    def work(settings: Settings, engine: Engine) -> None:
        with read_session(engine) as session:
            row = _find(session, slug)
            setup = tenants.business_setup(session, business_id=row.id)
            owners = tenants.owners_of(session, business_id=row.id)
            secrets = tenants.secret_names(session, business_id=row.id)
        lines = [
            ("slug", row.slug), ("name", row.name), ("address", row.address), ("siren", row.siren),
            ("vat_number", row.vat_number), ("iban", row.iban), ("bic", row.bic), ("phone", row.phone),
            ("email", row.email), ("reply_to", row.reply_to), ("timezone", row.timezone),
            ("digest_time", row.digest_time), ("ladder", "custom" if row.ladder_toml else "built-in"),
            ("paused", "yes" if row.paused else "no"),
            ("telegram owners", ", ".join(owners["telegram"])), ("slack owners", ", ".join(owners["slack"])),
        ]  # fmt: skip
        lines += [(name, "" if getattr(setup, name) is None else str(getattr(setup, name))) for name in
                  tenants.SETUP_FIELDS]  # fmt: skip
        lines += [(name, MASK if name in secrets else "") for name in
                  ("smtp_password", "imap_password", "slack_bot_token", "slack_app_token")]  # fmt: skip
        for label, value in lines:
            typer.echo(f"{label + ':':<18}{value}")

    _run(work)
