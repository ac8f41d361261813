"""The `relance` command line: import, payments, digest, status, preview and run (the bot, or the terminal demo).

Exit codes: 0 success, 1 the input was refused (import errors, unknown invoice), 2 a setting or an option is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.business import apply_settings, find_business, today_for
from bot.cli_business import business_app
from bot.cli_evidence import evidence_command, verify_command
from bot.cli_ops import backup_command, restore_command
from bot.console import (
    LABELS,
    money_str,
    render_digest,
    render_import_report,
    render_status,
)
from bot.settings import DEFAULT_DATABASE_URL, Settings, SettingsError, load_settings
from dunning.calendar import is_business_day
from dunning.ladder import LadderError
from storage.businesses import BusinessRow, business_row
from storage.db import Engine, make_engine, read_session, write_session
from storage.invoices import has_invoices
from storage.reminders import ReminderView, business_ladder, refresh_due

app = typer.Typer(
    name="relance",
    help="Relance: chase unpaid invoices (import, payments, digest, status, preview, run, check).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Files larger than this get a progress bar on import.
PROGRESS_MIN_BYTES = 256 * 1024

TodayOption = Annotated[
    datetime | None,
    typer.Option(
        "--today",
        formats=["%Y-%m-%d"],
        help="Business day to use (YYYY-MM-DD); default: RELANCE_TODAY, else today in TIMEZONE.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (fields in the README) instead of tables.")]


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"relance: {message}", err=True)
    raise typer.Exit(code)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        _fail(str(exc), 2)


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _engine(url: str, admin_url: str | None = None) -> Engine:
    """The database, migrated on first use (as DATABASE_ADMIN_URL's role when set: the tables' owner)."""
    try:
        return make_engine(url, admin_url=admin_url)
    except SQLAlchemyError as exc:
        _fail(f"DATABASE_URL: cannot open the database {_safe_url(url)} ({type(exc).__name__})", 2)


@dataclass
class _Env:
    settings: Settings
    engine: Engine
    business: BusinessRow

    @property
    def business_id(self) -> int:
        return self.business.id


@contextmanager
def _environment(settings: Settings | None = None, url: str | None = None) -> Iterator[_Env]:
    """Settings, an engine on the database and the install's business.

    The business is only read: its configuration is brought in line with the settings by `relance run` and
    `relance config apply` alone (reading commands change nothing). On a fresh database it is created from the
    settings, as on first use.
    """
    settings = settings or _settings()
    # The admin role belongs to DATABASE_URL's database only (never to the demo database run picks instead).
    engine = _engine(url, None) if url else _engine(settings.DATABASE_URL, settings.DATABASE_ADMIN_URL)
    try:
        try:
            with read_session(engine) as session:
                business = find_business(session)
            if business is None:
                with write_session(engine) as session:
                    business = apply_settings(session, settings, actor="cli")[0]
            business_ladder(business)  # a broken ladder is a setting error, reported now
        except (OSError, LadderError) as exc:
            _fail(f"LADDER_FILE: {exc}", 2)
        except SettingsError as exc:
            _fail(str(exc), 2)
        yield _Env(settings, engine, business)
    finally:
        engine.dispose()


def _console() -> Console:
    return Console(highlight=False)


# --- import --------------------------------------------------------------------------------------------------


@app.command("import")
def import_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="The CSV file (format in the README), or an e-invoice: Factur-X / ZUGFeRD PDF, CII or UBL XML.",
            show_default=False,
        ),
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and count, write nothing.")] = False,
    today: TodayOption = None,
) -> None:
    """Import invoices from a CSV file or an e-invoice (told by its content): all or nothing, re-importing the same
    file changes nothing."""
    from bot.business import load_rates
    from services.einvoice_import import is_einvoice, read_head
    from services.imports import import_csv

    console = _console()
    try:
        einvoice = file.is_file() and is_einvoice(read_head(file))
    except OSError:
        einvoice = False  # the CSV import says why the file cannot be read
    if einvoice:
        _import_einvoice(console, file, dry_run)
        return
    with _environment() as env:
        day = today_for(env.settings, today)
        try:
            rates = load_rates(env.settings, env.business.rates_toml)
        except SettingsError as exc:
            _fail(str(exc), 2)
        size = file.stat().st_size if file.is_file() else 0
        kwargs: dict[str, Any] = {
            "business_id": env.business_id,
            "path_or_bytes": file,
            "filename": file.name,
            "dry_run": dry_run,
            "actor": "cli",
            "today": day,
            "rate_table": rates,
            "pdf_store": env.settings.DATA_DIR / "invoices" / str(env.business_id),
        }
        if size >= PROGRESS_MIN_BYTES and console.is_terminal:
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=console, transient=True) as bar:
                tasks: dict[str, Any] = {}

                def progress(stage: str, done: int, total: int) -> None:
                    if stage not in tasks:
                        tasks[stage] = bar.add_task("lecture" if stage == "parse" else "écriture", total=total)
                    bar.update(tasks[stage], completed=done, total=total)

                report = import_csv(env.engine, progress=progress, **kwargs)
        else:
            report = import_csv(env.engine, **kwargs)
    render_import_report(console, report, error_console=Console(stderr=True, highlight=False))
    if not report.ok:
        raise typer.Exit(1)


def _import_einvoice(console: Console, file: Path, dry_run: bool) -> None:
    """`relance import` of an e-invoice: read, keep its document, write; the summary, or the reason and exit 1."""
    from bot.reports import render_einvoice_import
    from services.einvoice_import import import_einvoice, read_capped

    try:
        data = read_capped(file)
    except OSError as exc:
        _fail(f"{file.name} : {exc.strerror or exc}", 1)
    with _environment() as env:
        report = import_einvoice(
            env.engine,
            business_id=env.business_id,
            data=data,
            filename=file.name,
            actor="cli",
            document_store=env.settings.DATA_DIR / "invoices" / str(env.business_id),
            business_siren=env.business.siren,
            business_vat=env.business.vat_number,
            dry_run=dry_run,
        )
    text = render_einvoice_import(report, "fr", escape=str)
    if not report.ok:
        Console(stderr=True, highlight=False).print(text, markup=False)
        raise typer.Exit(1)
    console.print(text, markup=False)


# --- payments ------------------------------------------------------------------------------------------------


@app.command("payments")
def payments_command(
    file: Annotated[
        Path,
        typer.Argument(help="The bank statement: CAMT.053, OFX or a French bank's CSV export.", show_default=False),
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Read and match, record nothing.")] = False,
    profile: Annotated[
        str | None,
        typer.Option("--profile", help="The bank of a CSV export (default: told by its columns).", show_default=False),
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(
            "--column",
            help="Another bank's CSV: FIELD=HEADER for each column read (date, amount or credit / debit, label, "
            "counterparty, reference...); repeat it.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Record the payments of a bank statement: its credits matched to the open invoices, all or nothing; a
    statement imported twice records nothing twice."""
    from bot.reports import render_payments
    from services.payments import import_statement
    from services.statements.csv_banks import PROFILES

    known = [p.name for p in PROFILES]
    if profile is not None and profile not in known:
        _fail(f"--profile: unknown bank profile {profile!r}, expected one of {', '.join(known)}", 2)
    columns: dict[str, str] = {}
    for item in column or ():
        name, equals, header = (part.strip() for part in item.partition("="))
        if not (name and equals and header):
            _fail(f"--column: expected FIELD=HEADER (e.g. --column date=Jour), not {item!r}", 2)
        columns[name] = header
    with _environment() as env:
        summary = import_statement(
            env.engine,
            env.business_id,
            file,
            file.name,
            actor="cli",
            dry_run=dry_run,
            profile=profile,
            columns=columns or None,
        )
        if summary.ok and not dry_run and summary.settled_clients:
            # A "merci" draft for each client now all paid up, waiting in the digest like any reminder.
            from bot.business import build_context
            from services.payments import propose_thanks

            summary = propose_thanks(build_context(env.engine, env.settings), summary, actor="cli")
    text = render_payments(summary, "fr", escape=str)
    if not summary.ok:
        typer.echo(text, err=True)  # one line, never wrapped to the terminal's width
        raise typer.Exit(1)
    _console().print(text, markup=False)


# --- digest --------------------------------------------------------------------------------------------------


def digest_json(views: list[ReminderView]) -> list[dict[str, Any]]:
    """The `digest --json` form of the due reminders (fields documented in the README)."""
    return [
        {
            "reminder_id": v.reminder_id,
            "version": v.version,
            "client": v.client_name,
            "client_emails": list(v.client_emails),
            "step": v.step,
            "state": v.state,
            "planned_date": v.planned_date.isoformat(),
            "total": money_str(v.total),
            "currency": v.invoices[0].currency if v.invoices else "EUR",
            "invoices": [
                {
                    "number": i.number,
                    "amount": money_str(i.amount),
                    "balance": money_str(i.balance),
                    "issue_date": i.issue_date.isoformat(),
                    "due_date": i.due_date.isoformat(),
                    "days_overdue": i.days_overdue,
                    "step": i.step,
                }
                for i in v.invoices
            ],
        }
        for v in views
    ]


def _digest(env: _Env, day: date) -> list[ReminderView]:
    with write_session(env.engine) as session:
        business = business_row(session, business_id=env.business_id)
        return refresh_due(session, business=business, today=day, actor="cli")


@app.command("digest")
def digest_command(today: TodayOption = None, as_json: JsonOption = False) -> None:
    """Today's due reminders: client, step, invoices, amounts and days overdue (they are also saved as pending)."""
    with _environment() as env:
        day = today_for(env.settings, today)
        views = _digest(env, day)
    if as_json:
        typer.echo(json.dumps(digest_json(views), ensure_ascii=False, indent=2))
        return
    render_digest(_console(), views, day, business_day=is_business_day(day))


# --- status --------------------------------------------------------------------------------------------------


@app.command("status")
def status_command(today: TodayOption = None, as_json: JsonOption = False) -> None:
    """Open and overdue totals, aging buckets, top debtors, the next 7 days and money recovered this month."""
    from storage.queries import status_summary

    with _environment() as env:
        day = today_for(env.settings, today)
        with read_session(env.engine) as session:
            summary = status_summary(session, business_id=env.business_id, today=day)
    if as_json:
        typer.echo(json.dumps(summary.to_json(), ensure_ascii=False, indent=2))
        return
    render_status(_console(), summary)


# --- preview -------------------------------------------------------------------------------------------------


@app.command("preview")
def preview_command(
    invoice_no: Annotated[str, typer.Argument(help="The invoice number, e.g. F-2026-042.", show_default=False)],
    step: Annotated[str | None, typer.Option("--step", help="Step to render (default: today's step).")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="fr or en (default: the client's language).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text, html, sms, call or letter (PDF).")] = "text",
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of the terminal.")] = None,
    today: TodayOption = None,
) -> None:
    """The message today's step (or --step) would propose for an invoice: subject and body, or the PDF letter."""
    if lang is not None and lang not in ("fr", "en"):
        _fail("--lang: expected fr or en", 2)
    if fmt not in ("text", "html", "sms", "call", "letter"):
        _fail("--format: expected text, html, sms, call or letter", 2)
    from bot.business import load_rates, renderer_for
    from messages.render import TemplateError
    from services import drafts

    with _environment() as env:
        day = today_for(env.settings, today)
        steps = [s.name for s in business_ladder(env.business).steps]
        if step is not None and step not in steps:
            _fail(f"--step: expected one of {', '.join(steps)}", 2)
        try:
            rates = load_rates(env.settings, env.business.rates_toml)
            renderer = renderer_for(env.settings)
        except SettingsError as exc:
            _fail(str(exc), 2)
        try:
            with read_session(env.engine) as session:
                rendered = drafts.render_preview(
                    session,
                    business_id=env.business_id,
                    invoice_number=invoice_no,
                    today=day,
                    step=step,
                    lang=lang,
                    fmt=fmt,
                    rate_table=rates,
                    renderer=renderer,
                )
        except (LookupError, ValueError, TemplateError) as exc:
            _fail(str(exc) or f"cannot preview invoice {invoice_no}", 1)
        data_dir = env.settings.DATA_DIR
    if isinstance(rendered, bytes):
        target = out or data_dir / f"preview-{_slug(invoice_no)}-{step or 'today'}.pdf"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(rendered)
        typer.echo(str(target))
        return
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(rendered, encoding="utf-8")
        typer.echo(str(out))
        return
    typer.echo(rendered)


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text)


# --- run -----------------------------------------------------------------------------------------------------


def terminal_database(settings: Settings) -> tuple[str, bool]:
    """The database `run` uses without a chat token, and whether it is the demo one.

    An explicitly set DATABASE_URL is used as is (never filled with demo data). Otherwise the default database is
    used if it already holds invoices (you imported yours), else a separate demo database, DATA_DIR/demo.db.
    """
    if "DATABASE_URL" in settings.model_fields_set:
        return settings.DATABASE_URL, False
    default_file = make_url(DEFAULT_DATABASE_URL).database
    if default_file and Path(default_file).is_file():
        engine = _engine(settings.DATABASE_URL, settings.DATABASE_ADMIN_URL)
        try:
            with read_session(engine) as session:
                found = has_invoices(session)
        finally:
            engine.dispose()
        if found:
            return settings.DATABASE_URL, False
    return f"sqlite:///{(settings.DATA_DIR / 'demo.db').as_posix()}", True


@app.command("run")
def run_command(
    today: TodayOption = None,
    slack_http: Annotated[
        bool,
        typer.Option(
            "--slack-http",
            help="Slack in HTTP mode: serve the signed Events and interactivity endpoint on "
            "SLACK_HTTP_HOST:SLACK_HTTP_PORT (needs SLACK_SIGNING_SECRET) instead of Socket Mode (SLACK_APP_TOKEN).",
        ),
    ] = False,
    webhook: Annotated[
        str | None,
        typer.Option(
            "--webhook",
            metavar="URL",
            help="Telegram by webhook instead of long polling: Telegram posts to URL (e.g. https://host/path, your "
            "reverse proxy forwarding to WEBHOOK_LISTEN:WEBHOOK_PORT) with WEBHOOK_SECRET; /healthz is served there.",
        ),
    ] = None,
    worker: Annotated[
        bool,
        typer.Option(
            "--worker",
            help="Run only the jobs (each business's digest, the e-mails) beside the one process that receives the "
            "chat's updates, on the same PostgreSQL database; start as many as you like (see README, Several "
            "workers).",
        ),
    ] = False,
) -> None:
    """Start the chat bots (Telegram with TELEGRAM_BOT_TOKEN, Slack with SLACK_BOT_TOKEN, or both in one process);
    without any token, show the digest and status in the terminal (demo data)."""
    settings = _settings()
    if worker and (webhook is not None or slack_http):
        typer.echo("relance: --worker receives no update: it takes neither --webhook nor --slack-http", err=True)
        raise typer.Exit(2)
    if worker and not (settings.bot_token or settings.slack_bot_token):
        typer.echo("relance: --worker needs the chat's token (TELEGRAM_BOT_TOKEN or SLACK_BOT_TOKEN) to deliver the "
                   "digests", err=True)  # fmt: skip
        raise typer.Exit(2)
    if settings.bot_token or settings.slack_bot_token or slack_http or webhook is not None:
        from bot.runtime import run

        run(settings, slack_http=slack_http, webhook_url=webhook, worker=worker)
        return
    from storage.demo import demo_anchor, ensure_demo

    _preflight(settings)  # a broken template or a ladder step without one: refused before the demo is written
    console = _console()
    day = today_for(settings, today)
    url, demo = terminal_database(settings)
    # The admin role (DATABASE_ADMIN_URL) belongs to the configured database, never to the demo one.
    settings = settings.model_copy(update={"DATABASE_URL": url} | ({"DATABASE_ADMIN_URL": None} if demo else {}))
    with _environment(settings) as env:
        if demo:
            console.print(LABELS["demo_db"].format(url=_safe_url(url)))
            if ensure_demo(env.engine, env.business, day):
                console.print(LABELS["demo_created"])
            if not is_business_day(day):
                # Nothing is proposed on week-ends and holidays; show the demo's next business day instead.
                render_digest(console, [], day, business_day=False)
                day = demo_anchor(day)
    from bot.terminal import run_terminal

    run_terminal(settings, today=day)


# --- check ---------------------------------------------------------------------------------------------------


@dataclass
class _Check:
    """The outcome of one check: "ok", "warn" or "FAIL", and one line saying what was found."""

    name: str
    status: str
    detail: str


def _business_rates(settings: Settings) -> tuple[str | None, str]:
    """The rates added in the chat (/taux) and a note on where they come from; the database is only read."""
    url = make_url(settings.DATABASE_URL)
    sqlite_file = url.database if url.get_backend_name() == "sqlite" and url.database != ":memory:" else None
    if sqlite_file and not Path(sqlite_file).is_file():
        return None, "no database yet"
    try:
        engine = make_engine(settings.DATABASE_URL, migrate=False)
    except SQLAlchemyError as exc:
        return None, f"database not readable ({type(exc).__name__}): rates added with /taux not included"
    try:
        with read_session(engine) as session:
            business = find_business(session)
            return (business.rates_toml if business else None), "database read"
    except SQLAlchemyError as exc:
        return None, f"database not readable ({type(exc).__name__}): rates added with /taux not included"
    finally:
        engine.dispose()


def _run_checks(settings: Settings, *, smtp: bool) -> list[_Check]:
    """Each check in turn (a failing one does not stop the next), as `relance run` would meet them at start-up."""
    from bot.business import load_rates, renderer_for, settings_ladder
    from dunning.ladder import DEFAULT_LADDER
    from messages.banking import validate_payment_details
    from messages.render import KINDS, TemplateError
    from services.rates import missing_half_year

    checks: list[_Check] = []
    smtp_note = f"SMTP {settings.SMTP_HOST}:{settings.SMTP_PORT}" if settings.SMTP_HOST else ".eml files (no SMTP_HOST)"
    summary = f"database {_safe_url(settings.DATABASE_URL)}; {len(settings.owner_ids)} owner(s); {smtp_note}"
    if settings.bot_token and not settings.owner_ids:
        # Not a failure: the bot starts, but answers nobody but strangers' refusals until an owner is set.
        checks.append(_Check("settings", "warn", f"{summary}: OWNER_CHAT_IDS is empty, the bot would obey no one"))
    else:
        checks.append(_Check("settings", "ok", summary))
    ladder = DEFAULT_LADDER
    try:
        ladder = settings_ladder(settings)
        source = f"LADDER_FILE {settings.LADDER_FILE}" if settings.LADDER_FILE else "built-in"
        names = [step.name for step in ladder.steps]
        checks.append(_Check("ladder", "ok", f"{len(names)} step(s) ({', '.join(names)}), {source}"))
    except SettingsError as exc:
        checks.append(_Check("ladder", "FAIL", str(exc)))
    try:
        renderer = renderer_for(settings)
        renderer.check(ladder.steps)
        where = (
            f"TEMPLATES_DIR {settings.TEMPLATES_DIR} over the built-in ones" if settings.TEMPLATES_DIR else "built-in"
        )
        checks.append(_Check("templates", "ok", f"{len(renderer.steps())} steps x fr, en x {', '.join(KINDS)} "
                             f"and the formal-notice letter rendered from sample data ({where})"))  # fmt: skip
    except TemplateError as exc:
        checks.append(_Check("templates", "FAIL", str(exc)))
    business_rates, rates_note = _business_rates(settings)
    try:
        rates = load_rates(settings, business_rates)
        source = f"RATES_FILE {settings.RATES_FILE}" if settings.RATES_FILE else "shipped table"
        if business_rates:
            source += " + rates added with /taux"
        missing = missing_half_year(rates, today_for(settings))
        if missing is None:
            checks.append(_Check("rate table", "ok", f"{len(rates.ecb)} ECB half-years ({source}; {rates_note})"))
        else:
            checks.append(_Check("rate table", "warn",
                                 f"the ECB rate for {missing} (the current half-year) is missing: penalties are "
                                 f"stated without figures until you add it with /taux {missing} <rate> in the chat "
                                 f"or in RATES_FILE ({source}; {rates_note})"))  # fmt: skip
    except SettingsError as exc:
        checks.append(_Check("rate table", "FAIL", str(exc)))
    try:
        validate_payment_details(settings.COMPANY_IBAN, settings.COMPANY_BIC)
        iban = "".join(settings.COMPANY_IBAN.split())
        if iban:
            bic = f", BIC {settings.COMPANY_BIC}" if settings.COMPANY_BIC else ""
            checks.append(_Check("payment details", "ok", f"IBAN {iban[:4]}…{iban[-4:]}{bic}"))
        else:
            checks.append(_Check("payment details", "warn",
                                 "COMPANY_IBAN is not set: reminders will not say how to pay by transfer"))  # fmt: skip
    except ValueError as exc:
        checks.append(_Check("payment details", "FAIL", str(exc)))
    if smtp:
        checks.append(_check_smtp(settings))
    return checks


def _check_smtp(settings: Settings) -> _Check:
    """Open an SMTP session and log in, sending nothing; the password never appears in the line."""
    import asyncio

    from bot.settings import smtp_config
    from messages.delivery import DeliveryError, check_login

    if not settings.SMTP_HOST:
        return _Check("smtp", "FAIL", "SMTP_HOST is not set: e-mails would be written as .eml files, not sent")
    config = smtp_config(settings)
    target = f"{config.host}:{config.port} ({config.security})"
    try:
        reply = asyncio.run(check_login(config))
    except DeliveryError as exc:
        detail = f"{target}: {exc.line}"
        status = "FAIL"
    else:
        who = f"logged in as {config.username}" if config.username else "connected (no SMTP_USERNAME: no login)"
        detail, status = f"{target}: {who}, nothing sent ({reply.line})", "ok"
    secret = config.password.get_secret_value() if config.password else ""
    if secret:
        detail = detail.replace(secret, "***")  # a server that echoes what it was sent never puts it on screen
    return _Check("smtp", status, detail)


@app.command("check")
def check_command(
    smtp: Annotated[bool, typer.Option("--smtp", help="Also log in to the SMTP server (nothing is sent).")] = False,
) -> None:
    """Check the settings, the ladder, every template, the rate table and the payment details; exit 2 on a failure."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.echo(f"FAIL  settings: {exc}")
        _fail("check failed: settings", 2)
    checks = _run_checks(settings, smtp=smtp)
    for check in checks:
        typer.echo(f"{check.status:<5} {check.name}: {check.detail}")
    failed = [c.name for c in checks if c.status == "FAIL"]
    if failed:
        _fail(f"check failed: {', '.join(failed)}", 2)


def _preflight(settings: Settings) -> None:
    """What `relance run` checks before touching the database (rates, ladder, every template): exit 2 naming it."""
    from bot.business import load_rates, renderer_for, settings_ladder
    from messages.render import TemplateError

    try:
        load_rates(settings)
        renderer_for(settings).check(settings_ladder(settings).steps)
    except (SettingsError, TemplateError) as exc:
        _fail(str(exc), 2)


config_app = typer.Typer(help="The business's configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("apply")
def config_apply_command() -> None:
    """Bring the business in line with the settings (environment and .env); each changed field is logged."""
    settings = _settings()
    engine = _engine(settings.DATABASE_URL, settings.DATABASE_ADMIN_URL)
    try:
        with write_session(engine) as session:
            created = find_business(session) is None
            business, changed = apply_settings(session, settings, actor="cli")
            business_ladder(business)  # a broken ladder is refused before anything is kept
    except (OSError, LadderError) as exc:
        _fail(f"LADDER_FILE: {exc}", 2)
    except SettingsError as exc:
        _fail(str(exc), 2)
    finally:
        engine.dispose()
    if created:
        typer.echo(f"business {business.slug!r} created from the settings ({len(changed)} fields)")
    elif changed:
        typer.echo(f"{len(changed)} field(s) changed: {', '.join(changed)}")
    else:
        typer.echo("nothing to change: the business already matches the settings")


app.command("verify")(verify_command)
app.command("evidence")(evidence_command)
app.command("backup")(backup_command)
app.command("restore")(restore_command)
app.add_typer(business_app, name="business")


def main() -> None:
    """Entry point of the `relance` console script."""
    app()


if __name__ == "__main__":
    main()
