"""The Telegram application: wiring only (handlers in one ordered list, one error handler, start-up and shutdown)."""

from __future__ import annotations

import asyncio
import logging
import sys
import warnings
from typing import Any, cast

from telegram import BotCommand, BotCommandScopeDefault, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, TimedOut
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CommandHandler,
    ConversationHandler,
    Defaults,
    TypeHandler,
)
from telegram.request import BaseRequest
from telegram.warnings import PTBUserWarning

from bot.business import load_rates, renderer_for, settings_ladder
from bot.handlers import (
    access,
    common,
    delivery,
    digest,
    dispute,
    disputes,
    edit,
    evidence,
    help,
    imports,
    invoices,
    payment,
    promise,
    rates,
    send,
    settings_chat,
    snooze,
    status,
)
from bot.i18n import t
from bot.presenter import Presenter
from bot.settings import Settings, SettingsError
from services.core import Services

log = logging.getLogger(__name__)

#: The command menu: (command, catalogue key of its description).
COMMANDS = [
    ("digest", "commands.digest"),
    ("status", "commands.status"),
    ("factures", "commands.invoices"),
    ("client", "commands.client"),
    ("payee", "commands.paid"),
    ("import", "commands.import"),
    ("preuves", "commands.evidence"),
    ("litiges", "commands.disputes"),
    ("reprendre", "commands.resume"),
    ("parametres", "commands.settings"),
    ("taux", "commands.rates"),
    ("aide", "commands.help"),
    ("annuler", "commands.cancel"),
    ("start", "commands.start"),
]
COMMANDS_EN = [
    ("digest", "commands.digest"),
    ("status", "commands.status"),
    ("invoices", "commands.invoices"),
    ("client", "commands.client"),
    ("paid", "commands.paid"),
    ("import", "commands.import"),
    ("preuves", "commands.evidence"),
    ("disputes", "commands.disputes"),
    ("resume", "commands.resume"),
    ("settings", "commands.settings"),
    ("rate", "commands.rates"),
    ("help", "commands.help"),
    ("cancel", "commands.cancel"),
    ("start", "commands.start"),
]


def add_handlers(application: Application) -> None:
    """Every handler, in order: the owner gate first, the questions, the card buttons, commands, fallbacks."""
    # The gate only decides (in memory); strangers' refusals go out off the owner's path (see handlers/access.py).
    application.add_handler(TypeHandler(Update, access.owner_gate), group=-1)
    asking: list[Any] = [edit, dispute, promise, snooze, payment]
    states: dict[object, list[Any]] = {}
    for feature in asking:
        states.update(feature.STATES)
    with warnings.catch_warnings():
        # PTB warns that button presses are not tracked per message: deliberate, a question belongs to the
        # owner's chat (per user and chat), whichever card's button opened it.
        warnings.simplefilter("ignore", PTBUserWarning)
        questions: ConversationHandler[Any] = ConversationHandler(
            entry_points=[feature.ENTRY for feature in asking],
            states=states,
            fallbacks=[CommandHandler(["annuler", "cancel"], common.cancel)],
            per_user=True,
            per_chat=True,
            allow_reentry=True,
            name="questions",
        )
    application.add_handler(questions)
    features: list[Any] = [send, snooze, payment, edit, digest, disputes, help, status, invoices, imports,
                           settings_chat, evidence, rates]  # fmt: skip
    for feature in features:
        application.add_handlers(feature.HANDLERS)
    application.add_handlers(help.FALLBACKS)
    application.add_handler(help.BUTTON_FALLBACK)
    application.add_error_handler(access.on_error)


def build_application(
    settings: Settings,
    *,
    services: Presenter | None = None,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
    rate_limiter: bool = True,
) -> Application:
    """The PTB application against TELEGRAM_API_URL; tests pass `services` and a recording `request`."""
    token = settings.bot_token
    if not token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{settings.TELEGRAM_API_URL}/bot")
        .base_file_url(f"{settings.TELEGRAM_API_URL}/file/bot")
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.tz))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if rate_limiter:
        builder = builder.rate_limiter(cast(Any, AIORateLimiter(max_retries=2)))
    if request is not None:
        builder = builder.request(request)
    if updates_request is not None:
        builder = builder.get_updates_request(updates_request)
    application = builder.build()
    application.bot_data["settings"] = settings
    if services is not None:
        application.bot_data[common.SERVICES_KEY] = services
    add_handlers(application)
    return application


def open_services(settings: Settings) -> Presenter:
    """The database (migrated), the business brought in line with the settings, the delivery (SMTP outbox, or
    .eml files without SMTP_HOST), rates and templates checked now (file and line), never at send time."""
    from bot.business import build_context
    from services.rates import missing_half_year
    from storage.db import make_engine

    check_payment_details(settings)
    load_rates(settings)  # a bad RATES_FILE is reported now, naming the file and the field
    renderer = renderer_for(settings)
    # Every step of the configured ladder and every message kind, rendered from sample data: a broken template or
    # a custom step without its files is reported now, with file and line, never at send time.
    renderer.check(step.name for step in settings_ladder(settings).steps)
    engine = make_engine(settings.DATABASE_URL, admin_url=settings.DATABASE_ADMIN_URL)
    ctx = build_context(engine, settings, apply=True, renderer=renderer)
    services = Presenter(Services(ctx))
    half_year = missing_half_year(ctx.rate_table, services.today())
    if half_year is not None:
        log.warning(
            "the ECB rate for %s is not in the rate table: penalties are stated without figures until you add it "
            "with /taux %s <rate> in the chat or to RATES_FILE (see README, Rate table)",
            half_year,
            half_year,
        )
    return services


def check_payment_details(settings: Settings) -> None:
    """IBAN and BIC, when given, must be valid (checked at start-up, never discovered in a client's e-mail)."""
    from messages.banking import validate_payment_details

    try:
        validate_payment_details(settings.COMPANY_IBAN, settings.COMPANY_BIC)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    if not settings.COMPANY_IBAN:
        log.warning("COMPANY_IBAN is not set: reminders will not say how to pay by transfer")


async def post_init(application: Application) -> None:
    """Open the services, recover interrupted e-mails, set the menus, schedule the digest and the outbox tick."""
    services = application.bot_data.get(common.SERVICES_KEY)
    if services is None:
        settings: Settings = application.bot_data["settings"]
        services = await asyncio.to_thread(open_services, settings)
        application.bot_data[common.SERVICES_KEY] = services
    services.channel = f"telegram:{application.bot.id}"
    await set_commands(application)
    if application.bot_data["settings"].SMTP_HOST:
        await delivery.start_sender(application, services)
    digest.schedule(application, services)
    digest.catch_up(application, services)
    await rates.notify_missing_rate(application, services)


async def set_commands(application: Application) -> None:
    """The command menu in French, and in English for owners whose Telegram is in English."""
    await application.bot.set_my_commands(
        [BotCommand(c, t(k, "fr")) for c, k in COMMANDS], scope=BotCommandScopeDefault()
    )
    await application.bot.set_my_commands(
        [BotCommand(c, t(k, "en")) for c, k in COMMANDS_EN], scope=BotCommandScopeDefault(), language_code="en"
    )


async def post_shutdown(application: Application) -> None:
    """Write the day's count of refused strangers, then close the database."""
    await access.close(application)
    services = application.bot_data.get(common.SERVICES_KEY)
    if isinstance(services, Presenter):
        services.engine.dispose()


def run_bot(settings: Settings) -> None:
    """`relance run` with a token: long polling until SIGINT or SIGTERM, then a clean shutdown."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request URL, and the URL contains the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        # Settings, payment details, rates and templates are checked before connecting: one clear line, no traceback.
        services = open_services(settings)
    except Exception as exc:
        from messages.render import TemplateError

        if not isinstance(exc, (SettingsError, TemplateError)):
            raise
        # A TemplateError's text starts with its file and line ("…/fr/reminder_1.text.j2:3: …").
        print(f"relance: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    application = build_application(settings, services=services)
    # PTB logs the start-up failure with its whole traceback before raising it; the owner gets one line below.
    logging.getLogger("telegram.ext").addFilter(_drop_bootstrap_traceback)
    try:
        application.run_polling(
            allowed_updates=Update.ALL_TYPES,
            drop_pending_updates=False,
            close_loop=False,
            bootstrap_retries=3,  # a network hiccup at boot is retried a few times, a wrong URL is reported
        )
    except InvalidToken:
        print(
            "relance: the Bot API server refused TELEGRAM_BOT_TOKEN (invalid or revoked token): "
            "check it with @BotFather",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    except (NetworkError, TimedOut) as exc:
        # The exception text never holds the token (httpx's messages name the error, not the URL).
        print(
            f"relance: cannot reach the Telegram Bot API at {settings.TELEGRAM_API_URL} ({exc}); "
            "check TELEGRAM_API_URL and the network, then run again",
            file=sys.stderr,
        )
        raise SystemExit(1) from None


def _drop_bootstrap_traceback(record: logging.LogRecord) -> bool:
    """Keep PTB's start-up retry messages but without the traceback (the cause is printed in one line)."""
    if record.getMessage().startswith("Network Retry Loop"):
        record.exc_info = None
        record.exc_text = None
    return True
