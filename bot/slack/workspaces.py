"""Businesses with a Slack workspace of their own (`relance business set <slug> --slack-team T… --slack-bot-token
xoxb-… --slack-app-token xapp-…`): one Slack connection per such workspace in the running process, serving its
businesses only (the adapter is bot/slack/workspace_app.py, loaded only when some business has a workspace).

Such a business is served in its workspace and nowhere else: its owners there reach it alone (a member of its
workspace never reaches another business, whatever a payload names), its digest goes to its owners there, its
e-mails' outcomes refresh its cards there; the install's workspace (SLACK_BOT_TOKEN) no longer serves it. Its
connection never holds the process back: it connects in the background (Slack out of reach is retried with
backoff), and a refused token, a token of another workspace or a missing token is one error line naming the
business, after which that business is not served in Slack at all (fail closed) while the others run on. The tokens
are decrypted with RELANCE_SECRET_KEY (bot/secrets.py) and added to the log's masked values; they are never printed.
Socket Mode only (the app-level token): the install's HTTP endpoint (`--slack-http`) serves the install's app alone.
Businesses connected to the same workspace with the same app share one connection (an owner of several picks one
with `/relance entreprise`, as in the install's workspace).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from bot.logs import SecretFilter
from bot.secrets import SecretKeyError, decrypt
from storage import tenants
from storage.db import Engine, read_session

if TYPE_CHECKING:
    from bot.adapters import ChatAdapter
    from bot.settings import Settings
    from bot.tenancy import Business
    from services.core import Services

log = logging.getLogger(__name__)

#: The names of a business's Slack secrets in business_secret (encrypted by `relance business set`).
BOT_TOKEN_SECRET = "slack_bot_token"
APP_TOKEN_SECRET = "slack_app_token"


@dataclass(frozen=True)
class Workspace:
    """A Slack workspace of businesses' own: its team id, its app's tokens (decrypted, kept secret), and the
    businesses connected to it with that app (by id and slug; the first is the connection's home)."""

    team_id: str
    bot_token: SecretStr
    app_token: SecretStr
    business_ids: tuple[int, ...]
    slugs: tuple[str, ...]

    @property
    def label(self) -> str:
        """The businesses it serves, for a log line: "beta", or "beta, gamma"."""
        return ", ".join(self.slugs)


class NotConnected(RuntimeError):
    """The business's workspace is not connected (yet, or at all): nothing was delivered there."""


def served_elsewhere(engine: Engine, businesses: dict[int, Any], team: str, *, home: int) -> set[int]:
    """The businesses the install's workspace `team` must not serve: those named to another workspace, and those
    connected to a workspace of their own (a bot token of their own), whichever it is. `home` (the settings'
    business) is always served by the install."""
    elsewhere: set[int] = set()
    with read_session(engine) as session:
        for business_id in businesses:
            if business_id == home:
                continue
            own_team = tenants.business_setup(session, business_id=business_id).slack_team_id
            if not own_team:
                continue
            if own_team != team or tenants.secret(session, business_id=business_id, name=BOT_TOKEN_SECRET):
                elsewhere.add(business_id)
    return elsewhere


def business_workspace_adapters(
    settings: Settings, core: Services, businesses: dict[int, Business], *, receive: bool = True
) -> list[ChatAdapter]:
    """One Slack adapter per workspace of businesses' own (other than the settings' business), scoped to the
    businesses connected to it (their services, their tokens, SLACK_API_URL as the install's). Businesses naming the
    same workspace with the same bot token share one connection (Slack splits one app's events between its
    connections: two would each see half of them), where an owner of several picks one with `/relance entreprise`.
    A business naming a workspace without both tokens, or whose tokens cannot be decrypted, gets one error line and
    no adapter (not served in Slack). Without `receive` (`relance run --worker`) they only send: no Socket Mode
    connection, the deployment's receiving process has it."""
    groups: dict[tuple[str, str], list[tuple[int, str, str]]] = {}
    for business_id, business in sorted(businesses.items()):
        if business_id == core.business_id:
            continue
        found = _credentials(settings, core.engine, business_id, business)
        if found is not None:
            team, bot_token, app_token = found
            groups.setdefault((team, bot_token), []).append((business_id, business.services.ctx.slug, app_token))
    adapters: list[ChatAdapter] = []
    if groups:  # the Slack libraries are loaded only when a business has a workspace of its own
        from bot.slack.workspace_app import WorkspaceAdapter
    for (team, bot_token), members in groups.items():
        workspace = Workspace(team, SecretStr(bot_token), SecretStr(members[0][2]),
                              tuple(m[0] for m in members), tuple(m[1] or str(m[0]) for m in members))  # fmt: skip
        adapters.append(WorkspaceAdapter(settings, businesses, workspace, receive=receive))
    return adapters


def _credentials(
    settings: Settings, engine: Engine, business_id: int, business: Business
) -> tuple[str, str, str] | None:
    """The business's own workspace and its decrypted tokens (team, bot, app); None (and why, in one line) when it
    has none usable."""
    slug = business.services.ctx.slug or str(business_id)
    with read_session(engine) as session:
        team = tenants.business_setup(session, business_id=business_id).slack_team_id
        if not team:
            return None
        sealed = {name: tenants.secret(session, business_id=business_id, name=name)
                  for name in (BOT_TOKEN_SECRET, APP_TOKEN_SECRET)}  # fmt: skip
    bot_sealed, app_sealed = sealed[BOT_TOKEN_SECRET], sealed[APP_TOKEN_SECRET]
    if bot_sealed is None:
        log.warning("business %s names Slack workspace %s but has no bot token of its own: it is served there only "
                    "if that is the install's workspace (relance business set %s --slack-bot-token … "
                    "--slack-app-token …)", slug, team, slug)  # fmt: skip
        return None
    if app_sealed is None:
        log.error("business %s: its Slack workspace %s needs the app-level token for Socket Mode (relance business "
                  "set %s --slack-app-token xapp-…); its owners are not served in Slack until then",
                  slug, team, slug)  # fmt: skip
        return None
    try:
        bot_token = decrypt(settings, bot_sealed, name=BOT_TOKEN_SECRET)
        app_token = decrypt(settings, app_sealed, name=APP_TOKEN_SECRET)
    except SecretKeyError as exc:
        log.error("business %s: its Slack workspace is not connected: %s", slug, exc)
        return None
    mask_in_logs(bot_token, app_token)
    return team, bot_token, app_token


def mask_in_logs(*values: str) -> None:
    """Mask `values` in every line the process logs from now on, as the settings' secrets are (bot/logs.py)."""
    for handler in logging.getLogger().handlers:
        for found in handler.filters:
            if isinstance(found, SecretFilter):
                found.secrets = sorted({*found.secrets, *(v for v in values if v)}, key=len, reverse=True)
