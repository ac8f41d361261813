"""`relance verify` (re-check a business's evidence chain, or every chain with --all) and
`relance evidence INVOICE_NO --out dossier.zip`.

Registered on the typer app of bot/cli.py. Exit codes: 0 success, 1 chain broken or unknown invoice, 2 bad setting.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.settings import Settings, SettingsError, load_settings
from storage.businesses import all_businesses
from storage.db import Engine, make_engine, read_session
from storage.evidence import GENESIS_HASH, VerifyResult, verify_chain
from storage.schedule import ScheduleCheck, check


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
        safe = make_url(settings.DATABASE_URL).render_as_string(hide_password=True)
        raise _fail(f"DATABASE_URL: cannot open the database {safe} ({type(exc).__name__})", 2) from None


def _chains(engine: Engine, slug: str | None, every: bool) -> list[tuple[str, int]]:
    """The (slug, id) of the businesses whose chain to verify: one (the install's, or `slug`) or all of them."""
    from bot.business import DEFAULT_SLUG

    with read_session(engine) as session:
        businesses = [(b.slug, b.id) for b in all_businesses(session)]
    if every:
        return businesses
    if slug is not None:
        chosen = [b for b in businesses if b[0] == slug]
        if not chosen:
            known = ", ".join(b[0] for b in businesses) or "none"
            raise _fail(f"--business {slug}: no such business in this database (businesses: {known})", 2)
        return chosen
    if len(businesses) <= 1:
        return businesses
    install = [b for b in businesses if b[0] == DEFAULT_SLUG]
    if install:
        return install
    names = ", ".join(b[0] for b in businesses)
    raise _fail(
        f"this database holds {len(businesses)} businesses ({names}): choose one with --business SLUG, or --all", 2
    )


def _result_line(result: VerifyResult) -> str:
    if result.ok:
        return f"OK: {result.count} entries verified; head hash {result.head_hash}"
    where = f"first bad entry #{result.first_bad_seq}" if result.first_bad_seq is not None else "chain incomplete"
    return f"FAILED: {where}: {result.reason} ({result.count} entries verified before it)"


def _result_json(result: VerifyResult) -> dict[str, object]:
    return {
        "ok": result.ok,
        "count": result.count,
        "head_hash": result.head_hash,
        "first_bad_seq": result.first_bad_seq,
        "reason": result.reason,
    }


def verify_command(
    head: Annotated[
        list[str] | None,
        typer.Option("--head", help="A head hash published earlier (digest footer) that must still be in the chain."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    business: Annotated[
        str | None, typer.Option("--business", help="The slug of the business whose chain to verify.")
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Verify the chain of every business.")] = False,
    fix_schedule: Annotated[
        bool,
        typer.Option("--fix-schedule", help="Write the policy's next action date where a stored one differs."),
    ] = False,
) -> None:
    """Recompute the evidence chain of the install's business (one chain per business): exit 0 with the entry count
    and head hash, exit 1 naming the first bad entry. Then recompute each open invoice's next action date (what the
    morning scan reads): exit 1 when one differs, unless --fix-schedule wrote the right ones."""
    if every and (business is not None or head):
        raise _fail("--all verifies every chain: it cannot be combined with --business or --head", 2)
    settings = _settings()
    engine = _engine(settings)
    try:
        chains = _chains(engine, business, every)
        results = [
            (slug, verify_chain(engine, business_id=business_id, expected_hashes=head or ()))
            for slug, business_id in chains
        ]
        schedules = {slug: check(engine, business_id, fix=fix_schedule) for slug, business_id in chains}
    finally:
        engine.dispose()
    if not every:
        # One chain, printed as before; a database without any business has an empty, valid chain.
        result = results[0][1] if results else VerifyResult(True, 0, GENESIS_HASH, None, "ok")
        if head and not results:
            result = VerifyResult(False, 0, GENESIS_HASH, None, "published head hash(es) not found: no business yet")
        schedule = next(iter(schedules.values()), ScheduleCheck(0, ()))
        if as_json:
            typer.echo(json.dumps({**_result_json(result), "schedule": _schedule_json(schedule)}))
        else:
            typer.echo(_result_line(result))
            typer.echo(_schedule_line(schedule))
        if not result.ok or not schedule.ok:
            raise typer.Exit(1)
        return
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {"business": slug, **_result_json(r), "schedule": _schedule_json(schedules[slug])}
                    for slug, r in results
                ]
            )
        )
    else:
        for slug, r in results:
            typer.echo(f"{slug}: {_result_line(r)}")
            typer.echo(f"{slug}: {_schedule_line(schedules[slug])}")
    if not all(r.ok for _, r in results) or not all(s.ok for s in schedules.values()):
        raise typer.Exit(1)


def _schedule_line(found: ScheduleCheck) -> str:
    if not found.wrong:
        return f"schedule OK: {found.checked} invoices dated as the policy says"
    first = found.wrong[0]
    example = f"{first.number}: stored {first.stored or 'none'}, expected {first.expected or 'none'}"
    if found.fixed:
        return f"schedule FIXED: {len(found.wrong)} of {found.checked} invoices redated (first {example})"
    return (
        f"schedule FAILED: {len(found.wrong)} of {found.checked} invoices not dated as the policy says (first "
        f"{example}); `relance verify --fix-schedule` writes the right dates"
    )


def _schedule_json(found: ScheduleCheck) -> dict[str, object]:
    return {
        "ok": found.ok,
        "checked": found.checked,
        "wrong": [
            {"number": m.number, "stored": m.stored and m.stored.isoformat(),
             "expected": m.expected and m.expected.isoformat()}
            for m in found.wrong
        ],
        "fixed": found.fixed,
    }  # fmt: skip


def evidence_command(
    invoice_no: Annotated[str, typer.Argument(help="The invoice number, e.g. F-2026-042.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Where to write the ZIP (default preuves-NUMBER.zip).")
    ] = None,
    today: Annotated[
        datetime | None,
        typer.Option(
            "--today", formats=["%Y-%m-%d"], help="Date of the penalties (default: today).", show_default=False
        ),
    ] = None,
) -> None:
    """Write the court-ready evidence file (ZIP) of one invoice."""
    from bot.business import find_business, load_rates, today_for
    from services.export import ExportError, build_evidence_zip

    settings = _settings()
    day = today_for(settings, today)
    target = out or Path(f"preuves-{invoice_no}.zip")
    engine = _engine(settings)
    try:
        # Reading changes nothing: the business is looked up, never brought in line with the settings here.
        with read_session(engine) as session:
            business = find_business(session)
            if business is None:
                raise _fail("no business in this database yet: run `relance import` or `relance run` first", 1)
            business_id, business_rates = business.id, business.rates_toml
        try:
            # RATES_FILE (env or .env) and the rates added from the chat extend the table, like the bot's /preuves
            rates = load_rates(settings, business_rates)
        except SettingsError as exc:
            raise _fail(str(exc), 2) from None
        try:
            path = build_evidence_zip(
                engine, business_id=business_id, invoice_number=invoice_no, today=day, out_path=target, rate_table=rates
            )
        except ExportError as exc:
            raise _fail(str(exc), 1) from None
    finally:
        engine.dispose()
    typer.echo(f"{path} ({path.stat().st_size} bytes)")
