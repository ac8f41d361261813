"""The Telegram adapter: the application's wiring (handlers in one ordered list, one error handler) and its start,
stop, digest and e-mail outcomes for the runtime (bot/runtime.py)."""

from __future__ import annotations

import asyncio
import logging
import warnings
from typing import TYPE_CHECKING, Any, cast

from telegram import BotCommand, BotCommandScopeDefault, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CommandHandler,
    ConversationHandler,
    Defaults,
    TypeHandler,
)
from telegram.request import BaseRequest
from telegram.warnings import PTBUserWarning

from bot.adapters import AdapterStartError
from bot.handlers import (
    access,
    calls,
    common,
    delivery,
    digest,
    dispute,
    disputes,
    edit,
    entreprise,
    evidence,
    extra,
    help,
    imports,
    invoices,
    letters,
    payment,
    plans,
    promise,
    rates,
    replies,
    send,
    settings_chat,
    snooze,
    statements,
    status,
    tasks,
)
from bot.i18n import t
from bot.presenter import Presenter
from bot.ratelimit import FloodLimiter
from bot.settings import Settings
from services.core import DigestData, Services
from services.mailbox import Ingested, MailboxProblem
from services.outbox import DeliveryResult

if TYPE_CHECKING:
    from bot.health import Health, HttpServer
    from bot.tenancy import Business, Tenancy
    from bot.webhook import WebhookConfig

log = logging.getLogger(__name__)

#: Seconds between the tries to reach the Bot API at start (then one last try): a few, with backoff.
START_RETRY_DELAYS = (1.0, 2.0, 4.0)

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
    ("taches", "commands.tasks"),
    ("virements", "commands.transfers"),
    ("reponses", "commands.replies"),
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
    ("tasks", "commands.tasks"),
    ("transfers", "commands.transfers"),
    ("replies", "commands.replies"),
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
    # plans: the typed schedule of a payment plan (📅 Échéancier > ✏️ Modifier).
    asking: list[Any] = [edit, dispute, promise, snooze, payment, plans]
    states: dict[object, list[Any]] = {}
    for feature in asking:
        states.update(feature.STATES)
    # Registered letters (LRAR): the formal notice's letter buttons ask their questions in the same conversation.
    states.update(letters.STATES)
    entries: list[Any] = [feature.ENTRY for feature in asking] + letters.ENTRIES
    # Replies by e-mail (issue 11 §1): the reply cards' m1: buttons; another date, reason or the answer is typed.
    states.update(replies.STATES)
    entries.append(replies.ENTRY)
    # Phone calls (issue 11 §2): 📞 Appel fait asks for the outcome in the same conversation.
    states.update(calls.STATES)
    entries.append(calls.ENTRY)
    with warnings.catch_warnings():
        # PTB warns that button presses are not tracked per message: deliberate, a question belongs to the
        # owner's chat (per user and chat), whichever card's button opened it.
        warnings.simplefilter("ignore", PTBUserWarning)
        questions: ConversationHandler[Any] = ConversationHandler(
            entry_points=entries,
            states=states,
            fallbacks=[CommandHandler(["annuler", "cancel"], common.cancel)],
            per_user=True,
            per_chat=True,
            allow_reentry=True,
            name="questions",
        )
    application.add_handler(questions)
    features: list[Any] = [send, snooze, payment, edit, digest, disputes, help, status, invoices, imports,
                           settings_chat, evidence, rates, statements]  # fmt: skip
    features.append(plans)  # payment plans: the pl1: buttons of the plan card
    for feature in features:
        application.add_handlers(feature.HANDLERS)
    # Owner tasks (issue 10): /taches and the task cards' t1: buttons.
    application.add_handlers(tasks.HANDLERS)
    application.add_handlers(calls.HANDLERS)  # phone calls: Pas de réponse, Envoyer plutôt l'e-mail
    application.add_handlers(extra.HANDLERS)  # drafts outside the ladder (issue 10): 🗑 Ne pas envoyer
    application.add_handlers(replies.HANDLERS)  # replies by e-mail: /reponses
    application.add_handlers(entreprise.HANDLERS)  # several businesses: /entreprise and its b1: buttons
    application.add_handlers(help.FALLBACKS)
    application.add_handler(help.BUTTON_FALLBACK)
    application.add_error_handler(access.on_error)


def build_application(
    settings: Settings,
    *,
    services: Presenter,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
    rate_limiter: bool = True,
) -> Application:
    """The PTB application against TELEGRAM_API_URL, without a JobQueue of its own (the runtime's one scheduler
    wakes the digest and the sender); tests pass a recording `request`."""
    token = settings.bot_token
    if not token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{settings.TELEGRAM_API_URL}/bot")
        .base_file_url(f"{settings.TELEGRAM_API_URL}/file/bot")
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.tz))
        .job_queue(None)
    )
    if rate_limiter:
        # ~30 new messages a second, one a second per chat, 429s waited out and retried (bot/ratelimit.py).
        builder = builder.rate_limiter(cast(Any, FloodLimiter()))
    if request is not None:
        builder = builder.request(request)
    if updates_request is not None:
        builder = builder.get_updates_request(updates_request)
    application = builder.build()
    application.bot_data["settings"] = settings
    application.bot_data[common.SERVICES_KEY] = services
    add_handlers(application)
    return application


class TelegramAdapter:
    """Telegram as one chat door of the process: long polling (or a webhook), the owners' cards, their digest and
    e-mail outcomes."""

    name = "telegram"

    def __init__(
        self,
        settings: Settings,
        core: Services,
        *,
        request: BaseRequest | None = None,
        updates_request: BaseRequest | None = None,
        rate_limiter: bool = True,
        webhook: WebhookConfig | None = None,
        receive: bool = True,
    ) -> None:
        self.settings = settings
        self.webhook = webhook
        #: False in a worker process (`relance run --worker`): it sends (digests, outcomes) but never polls nor sets
        #: a webhook; the deployment's one receiving process gets the owners' taps.
        self.receive = receive
        self.health: Health | None = None  # served at /healthz on the webhook server (serve_health)
        self._server: HttpServer | None = None
        # The channel gets the bot's id once it is known (start): cards are stored per bot.
        self.presenter = Presenter(core)
        self.application = build_application(
            settings,
            services=self.presenter,
            request=request,
            updates_request=updates_request,
            rate_limiter=rate_limiter,
        )
        self._report = delivery.listener(self.application, self.presenter)
        self.tenancy: Tenancy | None = None  # several businesses: serve_businesses

    async def start(self) -> None:
        """Reach the Bot API (a few tries), set the menus, tell the owners about a missing rate, then long-poll."""
        # PTB logs a failed bootstrap with its whole traceback before raising it; the owner gets one line instead.
        logging.getLogger("telegram.ext").addFilter(_drop_bootstrap_traceback)
        application = self.application
        try:
            await self._initialize()
            self.presenter.channel = f"telegram:{application.bot.id}"
            for presenter in self.tenancy.presenters.values() if self.tenancy is not None else ():
                presenter.channel = self.presenter.channel
            if not self.receive:
                await application.start()  # a worker: the bot sends; no updates are fetched here
                return
            await set_commands(application)
            await rates.notify_missing_rate(application, self.presenter)
            if self.webhook is None:
                assert application.updater is not None
                # A network hiccup while bootstrapping is retried a few times, a wrong URL is reported. PTB's
                # bootstrap deletes a webhook left by webhook mode (getUpdates is refused while one is set).
                await application.updater.start_polling(
                    allowed_updates=Update.ALL_TYPES, drop_pending_updates=False, bootstrap_retries=3
                )
                await application.start()
            else:
                await self._start_webhook(self.webhook)
        except BaseException as exc:
            await self.stop()
            if isinstance(exc, InvalidToken):
                raise AdapterStartError(
                    "the Bot API server refused TELEGRAM_BOT_TOKEN (invalid or revoked token): check it with "
                    "@BotFather",
                    exit_code=2,
                ) from None
            if isinstance(exc, NetworkError):  # TimedOut included
                # The exception text never holds the token (httpx's messages name the error, not the URL).
                raise AdapterStartError(
                    f"cannot reach the Telegram Bot API at {self.settings.TELEGRAM_API_URL} ({exc}); "
                    "check TELEGRAM_API_URL and the network, then run again",
                    exit_code=1,
                ) from None
            raise

    def share_flood_limit(self, processes: int) -> None:
        """`processes` Relance processes send for this bot: this one keeps its share of Telegram's ~30 messages/s."""
        limiter = self.application.bot.rate_limiter
        if isinstance(limiter, FloodLimiter):
            limiter.share(processes)

    def serve_health(self, health: Health) -> bool:
        """In webhook mode, serve /healthz on the webhook server (True); in polling mode there is no server."""
        if self.webhook is None:
            return False
        self.health = health
        return True

    async def _start_webhook(self, webhook: WebhookConfig) -> None:
        """Listen, process updates, then ask Telegram to post them to the webhook URL with the secret."""
        # The HTTP server (aiohttp) only in webhook mode: a polling bot does not load it.
        from bot.health import HttpServer
        from bot.webhook import TelegramWebhook, webhook_application

        application = self.application
        receiver = TelegramWebhook(application.bot, application.update_queue, webhook.secret)
        self._server = HttpServer(
            webhook_application(receiver, webhook.path, self.health), webhook.listen, webhook.port, "Telegram webhook"
        )
        try:
            await self._server.start()
        except OSError as exc:
            raise AdapterStartError(
                f"cannot listen on {webhook.listen}:{webhook.port} for the Telegram webhook ({exc.strerror or exc}); "
                "check WEBHOOK_LISTEN and WEBHOOK_PORT",
                exit_code=1,
            ) from None
        await application.start()
        try:
            await application.bot.set_webhook(
                webhook.url,
                secret_token=webhook.secret,
                allowed_updates=Update.ALL_TYPES,
                drop_pending_updates=False,
            )
        except (InvalidToken, NetworkError):
            raise
        except TelegramError as exc:
            # Telegram's reason (an http URL, an unresolvable host…); it never holds the secret or the token.
            raise AdapterStartError(f"Telegram refused the webhook address: {exc.message}", exit_code=2) from None
        log.info("telegram: webhook set, updates arrive on %s:%s", webhook.listen, self._server.port)

    async def _initialize(self) -> None:
        """getMe, tried again after each of START_RETRY_DELAYS on a network error (a refused token is final)."""
        for delay in START_RETRY_DELAYS:
            try:
                await self.application.initialize()
                return
            except NetworkError as exc:
                log.warning("the Telegram Bot API does not answer (%s): trying again in %s s", exc, delay)
                await asyncio.sleep(delay)
        await self.application.initialize()

    async def stop(self) -> None:
        """Stop polling and the update processing, write the day's count of refused strangers, close connections."""
        application = self.application
        if self._server is not None:
            await self._server.stop()  # no update comes in any more; the webhook stays set for the next start
            self._server = None
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await access.close(application)
        await application.shutdown()

    def serve_businesses(self, opened: dict[int, Business]) -> Tenancy:
        """Serve every business of the deployment with this one bot (bot/tenancy.py): each owner's updates go to
        their current business (/entreprise), each business's e-mail outcomes refresh its own cards."""
        from bot.tenancy import make_tenancy

        tenancy = make_tenancy(self.presenter.core.engine, "telegram", opened)
        tenancy.presenters[self.presenter.business_id] = self.presenter
        self.tenancy = tenancy
        self.application.bot_data[common.TENANCY_KEY] = tenancy
        reports = [self._report] + [
            delivery.listener(self.application, presenter)
            for presenter in tenancy.presenters.values()
            if presenter is not self.presenter
        ]

        async def report(result: DeliveryResult) -> None:
            for each in reports:  # each listener ignores the other businesses' outcomes
                await each(result)

        self._report = report
        return tenancy

    async def deliver_digest_of(self, business_id: int, data: DigestData) -> None:
        """Business `business_id`'s digest to its owners (named atop it for an owner of several businesses)."""
        if self.tenancy is None or business_id == self.presenter.business_id:
            await self.deliver_digest(data)
            return
        tenancy = self.tenancy
        owners = sorted(int(user) for user in tenancy.owners_of(business_id) if user.isdigit())
        langs = self.application.bot_data.get(common.LANGS_KEY, {})
        heads = {owner: tenancy.head_of(owner, business_id) for owner in owners}
        await digest.deliver(self.application.bot, tenancy.presenters[business_id], owners, data, langs, heads)

    async def deliver_digest(self, data: DigestData) -> None:
        """The digest's header and cards to every owner's chat."""
        langs = self.application.bot_data.get(common.LANGS_KEY, {})
        await digest.deliver(self.application.bot, self.presenter, sorted(self.presenter.owner_ids), data, langs)

    async def on_outcome(self, result: DeliveryResult) -> None:
        """Refresh the reminder's cards in Telegram; tell the owners about a failed or uncertain e-mail."""
        await self._report(result)

    async def on_smtp_state(self, business_id: int, down: bool) -> None:
        """The business's SMTP server stopped answering (down) or answers again: each of its owners is told once,
        not once per e-mail waiting in the queue."""
        if self.tenancy is not None and business_id != self.presenter.business_id:
            owners = sorted(int(user) for user in self.tenancy.owners_of(business_id) if user.isdigit())
        elif business_id == self.presenter.business_id:
            owners = sorted(self.presenter.owner_ids)
        else:
            return  # another business's sender, not served by this bot
        langs = self.application.bot_data.get(common.LANGS_KEY, {})
        key = "outbox.smtp_down" if down else "outbox.smtp_up"
        for owner in owners:
            try:
                await self.application.bot.send_message(owner, t(key, langs.get(owner, "fr")))
            except TelegramError as exc:
                log.warning("owner %s not told that SMTP is %s: %s", owner, "down" if down else "back", exc)

    async def on_mail_received(self, ingested: Ingested) -> None:
        """A client's reply or a bounce kept by the mailbox watcher: its card to every owner at once."""
        langs = self.application.bot_data.get(common.LANGS_KEY, {})
        await replies.notify(self.application.bot, self.presenter, sorted(self.presenter.owner_ids), langs, ingested)

    def _owners_of(self, business_id: int) -> tuple[Presenter, list[int]] | None:
        """The presenter and Telegram owners of a business this bot serves (None: not served here)."""
        if business_id == self.presenter.business_id:
            return self.presenter, sorted(self.presenter.owner_ids)
        if self.tenancy is None or business_id not in self.tenancy.presenters:
            return None
        owners = sorted(int(user) for user in self.tenancy.owners_of(business_id) if user.isdigit())
        return self.tenancy.presenters[business_id], owners

    async def on_mail_received_of(self, business_id: int, ingested: Ingested) -> None:
        """Another business's mailbox kept a reply or a bounce: its card to that business's owners only."""
        served = self._owners_of(business_id)
        if served is None:
            return
        langs = self.application.bot_data.get(common.LANGS_KEY, {})
        await replies.notify(self.application.bot, served[0], served[1], langs, ingested)

    async def on_mailbox_problem_of(self, business_id: int, problem: MailboxProblem) -> None:
        """Another business's mailbox refused Relance's login: that business's owners are told once."""
        served = self._owners_of(business_id)
        if served is None:
            return
        langs = self.application.bot_data.get(common.LANGS_KEY, {})
        await replies.notify_problem(self.application.bot, served[1], langs, problem)

    async def on_mailbox_problem(self, problem: MailboxProblem) -> None:
        """The mailbox refused Relance's login: every owner is told once."""
        langs = self.application.bot_data.get(common.LANGS_KEY, {})
        await replies.notify_problem(self.application.bot, sorted(self.presenter.owner_ids), langs, problem)


async def set_commands(application: Application) -> None:
    """The command menu in French, and in English for owners whose Telegram is in English."""
    await application.bot.set_my_commands(
        [BotCommand(c, t(k, "fr")) for c, k in COMMANDS], scope=BotCommandScopeDefault()
    )
    await application.bot.set_my_commands(
        [BotCommand(c, t(k, "en")) for c, k in COMMANDS_EN], scope=BotCommandScopeDefault(), language_code="en"
    )


def _drop_bootstrap_traceback(record: logging.LogRecord) -> bool:
    """Keep PTB's start-up retry messages but without the traceback (the cause is printed in one line)."""
    if record.getMessage().startswith("Network Retry Loop"):
        record.exc_info = None
        record.exc_text = None
    return True
