"""What every Slack listener needs: the business's services as this Slack workspace presents them, the Web API
client, the owners, and the owners' language and direct-message channel (looked up once, then cached)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.i18n import lang_of
from bot.presenter import Presenter

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.settings import Settings


#: The presenter of the business the request being handled is about (several businesses), set by the gate.
ROUTED: ContextVar[Presenter | None] = ContextVar("relance_slack_business", default=None)


@dataclass
class SlackContext:
    """One Slack workspace's view of one business (or, with `tenancy`, of the business each owner works on)."""

    home: Presenter  # channel "slack:<team id>": the settings' business
    client: AsyncWebClient
    owner_ids: frozenset[str]
    settings: Settings
    langs: dict[str, str] = field(default_factory=dict)  # user id -> "fr" | "en"
    dms: dict[str, str] = field(default_factory=dict)  # owner user id -> direct-message channel id
    #: What a listener module keeps for this workspace between requests (the strangers' gate, the home tab's
    #: refreshes), under the module's name.
    state: dict[str, Any] = field(default_factory=dict)
    #: Several businesses (bot/tenancy.py): the Slack owners of each and their `/relance entreprise` choice.
    tenancy: Any = None
    #: A business's own workspace (bot/slack/workspaces.py): its team id; a request naming another team is dropped.
    team_id: str | None = None

    @property
    def presenter(self) -> Presenter:
        """The presenter of the business this request is about (the gate routed it), else the settings' one."""
        routed = ROUTED.get()
        return routed if routed is not None else self.home

    def is_owner(self, user_id: str | None) -> bool:
        """True for a Slack user listed in SLACK_OWNER_IDS, or an owner of one of the businesses (tenancy)."""
        if user_id is None:
            return False
        if self.tenancy is not None and self.tenancy.current(user_id) is not None:
            return True
        return user_id in self.owner_ids

    @staticmethod
    def actor(user_id: str) -> str:
        """The evidence-log actor of a Slack user."""
        return f"slack:{user_id}"

    async def lang(self, user_id: str) -> str:
        """The user's language: English when their Slack locale is English, French otherwise (cached)."""
        code = self.langs.get(user_id)
        if code is None:
            try:
                info = await self.client.users_info(user=user_id, include_locale=True)
                user = info.get("user") or {}
                code = lang_of(user.get("locale"))
            except Exception:  # a failed lookup must not stop the action: French, and ask again next time
                return "fr"
            self.langs[user_id] = code
        return code

    async def dm(self, user_id: str) -> str:
        """The direct-message channel between the app and this user (conversations.open, cached)."""
        channel = self.dms.get(user_id)
        if channel is None:
            opened = await self.client.conversations_open(users=user_id)
            channel = str((opened.get("channel") or {})["id"])
            self.dms[user_id] = channel
        return channel
