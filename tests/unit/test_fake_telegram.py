"""The fake Bot API server enforces Telegram's limits and errors, so the end-to-end tests built on it can be trusted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Conflict, InvalidToken

from tests.e2e.fakebot import (
    DEFAULT_TOKEN,
    EntityParseError,
    FakeBotAccount,
    FakeTelegram,
    FakeTelegramClient,
    parse_html,
)

OWNER = 111
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6300010000050001a5f645400000000049454e44ae426082"
)


@asynccontextmanager
async def fake_bot() -> AsyncIterator[tuple[FakeTelegram, FakeBotAccount, Bot, httpx.AsyncClient]]:
    """A running fake server with one bot account, a PTB Bot pointed at it and a raw HTTP client."""
    async with FakeTelegram() as server:
        account = server.add_bot(DEFAULT_TOKEN)
        account.add_chat(OWNER)
        bot = Bot(DEFAULT_TOKEN, base_url=f"{server.url}/bot", base_file_url=f"{server.url}/file/bot")
        async with bot, httpx.AsyncClient(base_url=f"{server.url}/bot{DEFAULT_TOKEN}/") as raw:
            yield server, account, bot, raw


def keyboard(*data: str) -> InlineKeyboardMarkup:
    """One row of buttons with the given callback data."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(f"B{i}", callback_data=d) for i, d in enumerate(data)]])


async def call(raw: httpx.AsyncClient, method: str, **params: Any) -> dict[str, Any]:
    """A raw JSON Bot API call; returns Telegram's envelope."""
    response = await raw.post(method, json=params)
    body: dict[str, Any] = response.json()
    assert response.status_code == (200 if body["ok"] else body["error_code"])
    return body


# ---------------------------------------------------------------- HTML parse mode


def test_html_parses_tags_and_the_four_named_entities() -> None:
    """Allowed tags become entities, &lt; &gt; &amp; &quot; decode, an unknown entity stays literal."""
    parsed = parse_html(
        '<b>Facture</b> &lt;F-1&gt; &amp; &quot;x&quot; &nbsp; <a href="https://x.fr/?a=1&amp;b=2">lien</a>'
    )
    assert parsed.text == 'Facture <F-1> & "x" &nbsp; lien'
    assert parsed.entities[0] == {"type": "bold", "offset": 0, "length": 7}
    assert parsed.entities[1] == {"type": "text_link", "offset": 27, "length": 4, "url": "https://x.fr/?a=1&b=2"}


def test_html_offsets_count_utf16_code_units() -> None:
    """An emoji before a tag shifts the entity by two UTF-16 units, as Telegram counts."""
    parsed = parse_html("✅💶 <i>payée</i>")
    assert parsed.entities == [{"type": "italic", "offset": 4, "length": 5}]


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("<br>x", 'Unsupported start tag "br" at byte offset 0'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<b>gras", 'Can\'t find end tag corresponding to start tag "b"'),
        ("gras</b>", "Unexpected end tag at byte offset 4"),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("é<b", "Unclosed start tag at byte offset 2"),
        ('<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
def test_html_errors_use_telegram_wording(source: str, error: str) -> None:
    """Bad HTML fails with Telegram's own error text (byte offsets in UTF-8)."""
    with pytest.raises(EntityParseError) as caught:
        parse_html(source)
    assert str(caught.value) == error


async def test_send_message_with_bad_html_gets_cant_parse_entities() -> None:
    """sendMessage with an unclosed tag answers 400 "Bad Request: can't parse entities: ..." and stores nothing."""
    async with fake_bot() as (_, account, _, raw):
        body = await call(raw, "sendMessage", chat_id=OWNER, text="<b>Total", parse_mode="HTML")
        assert body == {
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\"",
        }
        assert account.bot_messages(OWNER) == []


async def test_all_allowed_tags_are_accepted() -> None:
    """Every tag of Telegram's HTML style is accepted and shown as plain text."""
    async with fake_bot() as (_, account, bot, _):
        html = (
            "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike><del>d</del>"
            '<a href="https://example.org">a</a><code>c</code><pre>p</pre><span class="tg-spoiler">x</span>'
            "<tg-spoiler>y</tg-spoiler><blockquote>q</blockquote>"
        )
        await bot.send_message(OWNER, html, parse_mode="HTML")
        assert account.bot_messages(OWNER)[0].text == "bsieunskdacpxyq"


# ---------------------------------------------------------------- limits


async def test_text_limit_is_4096_characters_after_entity_parsing() -> None:
    """4096 characters pass even with tags and entities around them; 4097 fail with "message is too long"."""
    async with fake_bot() as (_, account, bot, raw):
        await bot.send_message(OWNER, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
        await bot.send_message(OWNER, "&lt;" * 4096, parse_mode="HTML")
        body = await call(raw, "sendMessage", chat_id=OWNER, text="&amp;" * 4097, parse_mode="HTML")
        assert body["description"] == "Bad Request: message is too long"
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(OWNER, "é" * 4097)
        assert [len(m.text or "") for m in account.bot_messages(OWNER)] == [4096, 4096]


async def test_empty_text_after_trimming_is_refused() -> None:
    """A text of blanks (or of an empty tag) is "message text is empty"."""
    async with fake_bot() as (_, _, _, raw):
        body = await call(raw, "sendMessage", chat_id=OWNER, text=" <b></b> \n", parse_mode="HTML")
        assert body["description"] == "Bad Request: message text is empty"


async def test_callback_data_limit_is_64_bytes() -> None:
    """callback_data of 64 bytes passes; 65 bytes, or 33 two-byte characters, or empty, is BUTTON_DATA_INVALID."""
    async with fake_bot() as (_, account, bot, _):
        await bot.send_message(OWNER, "ok", reply_markup=keyboard("x" * 64))
        for data in ("x" * 65, "é" * 33, ""):
            with pytest.raises(BadRequest, match="Button_data_invalid"):
                await bot.send_message(OWNER, "too long", reply_markup=keyboard(data))
        assert len(account.bot_messages(OWNER)) == 1


async def test_unknown_chat_is_not_found() -> None:
    """Writing to a user who never talked to the bot is "chat not found"."""
    async with fake_bot() as (_, _, _, raw):
        body = await call(raw, "sendMessage", chat_id=424242, text="hello")
        assert body["description"] == "Bad Request: chat not found"


# ---------------------------------------------------------------- edits


async def test_edit_that_changes_nothing_is_not_modified() -> None:
    """Same text, entities and keyboard: "message is not modified", for editMessageText and editMessageReplyMarkup."""
    async with fake_bot() as (_, account, bot, raw):
        sent = await bot.send_message(OWNER, "<b>Carte</b>", parse_mode="HTML", reply_markup=keyboard("r1:a"))
        body = await call(
            raw,
            "editMessageText",
            chat_id=OWNER,
            message_id=sent.message_id,
            text="<b>Carte</b>",
            parse_mode="HTML",
            reply_markup=keyboard("r1:a").to_dict(),
        )
        assert body["description"].startswith("Bad Request: message is not modified: specified new message content")
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_reply_markup(OWNER, sent.message_id, reply_markup=keyboard("r1:a"))
        # Same text without bold is a change; so is a new keyboard.
        await bot.edit_message_text("Carte", OWNER, sent.message_id, reply_markup=keyboard("r1:a"))
        await bot.edit_message_reply_markup(OWNER, sent.message_id, reply_markup=keyboard("r1:b"))
        assert account.message(OWNER, sent.message_id).edits == 2  # type: ignore[union-attr]


async def test_edit_text_without_markup_removes_the_buttons() -> None:
    """editMessageText without reply_markup leaves the message with no keyboard, as Telegram does."""
    async with fake_bot() as (_, account, bot, _):
        sent = await bot.send_message(OWNER, "Carte", reply_markup=keyboard("r1:a"))
        await bot.edit_message_text("✅ Envoyé", OWNER, sent.message_id)
        shown = account.message(OWNER, sent.message_id)
        assert shown is not None and shown.text == "✅ Envoyé" and shown.buttons == []


async def test_edit_of_a_missing_message_is_not_found() -> None:
    """Editing an unknown or deleted message is "message to edit not found"; a user's message can't be edited."""
    async with fake_bot() as (_, account, bot, raw):
        body = await call(raw, "editMessageText", chat_id=OWNER, message_id=99, text="x")
        assert body["description"] == "Bad Request: message to edit not found"
        sent = await bot.send_message(OWNER, "Carte")
        assert await bot.delete_message(OWNER, sent.message_id)
        with pytest.raises(BadRequest, match="Message to edit not found"):
            await bot.edit_message_text("x", OWNER, sent.message_id)
        with pytest.raises(BadRequest, match="Message to delete not found"):
            await bot.delete_message(OWNER, sent.message_id)
        user_message = account.send_text(OWNER, "bonjour")
        with pytest.raises(BadRequest, match="Message can't be edited"):
            await bot.edit_message_text("x", OWNER, user_message.message_id)


# ---------------------------------------------------------------- envelope, token, bodies


async def test_wrong_token_is_401_and_unknown_method_is_404() -> None:
    """A wrong token answers 401 Unauthorized; an unknown method 404 Not Found, logged for the test."""
    async with fake_bot() as (server, account, _, raw):
        async with httpx.AsyncClient() as client:
            response = await client.post(f"{server.url}/bot999:wrong/getMe")
        assert response.status_code == 401
        assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        with pytest.raises(InvalidToken):
            async with Bot("999:wrong", base_url=f"{server.url}/bot"):
                pass
        body = await call(raw, "sendDice", chat_id=OWNER)
        assert body == {"ok": False, "error_code": 404, "description": "Not Found"}
        assert account.unknown_methods == ["sendDice"]


async def test_json_form_and_query_bodies_are_accepted() -> None:
    """A method takes its parameters as JSON, as a form (values JSON-encoded, like PTB) or in the query string."""
    async with fake_bot() as (_, account, _, raw):
        markup = '{"inline_keyboard": [[{"text": "OK", "callback_data": "d"}]]}'
        form = await raw.post("sendMessage", data={"chat_id": str(OWNER), "text": "form", "reply_markup": markup})
        assert form.json()["ok"]
        query = await raw.get("sendMessage", params={"chat_id": OWNER, "text": "query"})
        assert query.json()["ok"]
        assert (await call(raw, "sendMessage", chat_id=OWNER, text="json"))["ok"]
        shown = account.bot_messages(OWNER)
        assert [m.text for m in shown] == ["form", "query", "json"]
        assert shown[0].buttons[0][0].callback_data == "d"


# ---------------------------------------------------------------- getUpdates


async def test_get_updates_long_polls_until_a_message_arrives() -> None:
    """A long poll returns as soon as the owner writes; the update carries a bot_command entity and language."""
    async with fake_bot() as (_, account, bot, _):
        poll = asyncio.create_task(bot.get_updates(timeout=10))
        await account.wait_for(lambda: account.is_polling, what="the poll to wait")
        account.send_text(OWNER, "/digest", language_code="en")
        updates = await asyncio.wait_for(poll, 2)
        message = updates[0].message
        assert message is not None and message.text == "/digest"
        assert message.entities[0].type == "bot_command" and message.from_user is not None
        assert message.from_user.language_code == "en"


async def test_get_updates_times_out_empty_and_offset_confirms() -> None:
    """With nothing new the poll returns [] after its timeout; an update stays until a higher offset confirms it."""
    async with fake_bot() as (_, account, bot, _):
        assert await bot.get_updates(timeout=1) == ()
        account.send_text(OWNER, "un")
        first = await bot.get_updates(timeout=0)
        again = await bot.get_updates(timeout=0)
        assert [u.update_id for u in first] == [u.update_id for u in again]
        assert await bot.get_updates(offset=first[-1].update_id + 1, timeout=0) == ()
        assert account.pending_updates() == 0


async def test_allowed_updates_filters_update_types() -> None:
    """With allowed_updates=["message"], a button tap is not delivered."""
    async with fake_bot() as (_, account, bot, _):
        sent = await bot.send_message(OWNER, "Carte", reply_markup=keyboard("r1:a"))
        account.tap(OWNER, sent.message_id, "r1:a")
        account.send_text(OWNER, "texte")
        updates = await bot.get_updates(timeout=0, allowed_updates=["message"])
        assert [u.message.text for u in updates if u.message] == ["texte"]
        assert all(u.callback_query is None for u in updates)


async def test_a_second_poller_ends_the_first_with_409() -> None:
    """Two concurrent getUpdates: the older ends with 409 Conflict, as with two bot instances."""
    async with fake_bot() as (_, account, bot, raw):
        first = asyncio.create_task(bot.get_updates(timeout=10))
        await account.wait_for(lambda: account.is_polling)
        # PTB keeps one connection for getUpdates; the second instance is a raw client.
        second = asyncio.create_task(call(raw, "getUpdates", timeout=1))
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await asyncio.wait_for(first, 2)
        assert await second == {"ok": True, "result": []}


async def test_delete_webhook_can_drop_pending_updates() -> None:
    """deleteWebhook(drop_pending_updates=True) forgets what waits."""
    async with fake_bot() as (_, account, bot, _):
        account.send_text(OWNER, "vieux")
        assert await bot.delete_webhook(drop_pending_updates=True)
        assert await bot.get_updates(timeout=0) == ()


# ---------------------------------------------------------------- buttons


async def test_tap_records_the_answer_and_a_second_answer_fails() -> None:
    """A tap is a callback_query from the user on the message; its answer text is recorded; answering twice fails."""
    async with fake_bot() as (_, account, bot, _):
        sent = await bot.send_message(OWNER, "Carte", reply_markup=keyboard("r1:send:1"))
        shown = account.message(OWNER, sent.message_id)
        assert shown is not None
        tap = account.press(shown, "B0", user_id=999)
        updates = await bot.get_updates(timeout=0)
        query = updates[0].callback_query
        assert query is not None and query.data == "r1:send:1" and query.from_user.id == 999
        assert query.message is not None and query.message.message_id == sent.message_id
        assert not account.tap_state(tap.id).answered
        await query.answer("déjà traité")
        state = account.tap_state(tap.id)
        assert state.answered and state.answer_text == "déjà traité"
        with pytest.raises(BadRequest, match="Query is too old"):
            await query.answer()
        with pytest.raises(BadRequest, match="Message_too_long"):
            await bot.answer_callback_query(account.tap(OWNER, sent.message_id, "x").id, text="x" * 201)


# ---------------------------------------------------------------- files


async def test_user_document_can_be_fetched_with_get_file() -> None:
    """An uploaded document reaches the bot with a file_id; getFile and the download path give back its bytes."""
    async with fake_bot() as (_, account, bot, _):
        account.upload_document(OWNER, "factures.csv", "numéro;montant\n".encode(), caption="import")
        message = (await bot.get_updates(timeout=0))[0].message
        assert message is not None and message.document is not None
        assert message.document.file_name == "factures.csv" and message.caption == "import"
        file = await bot.get_file(message.document.file_id)
        assert bytes(await file.download_as_bytearray()) == "numéro;montant\n".encode()
        with pytest.raises(BadRequest, match="Invalid file_id"):
            await bot.get_file("nope")


async def test_files_over_20_mb_cannot_be_downloaded() -> None:
    """getFile refuses a file over 20 MB with "file is too big", as the cloud Bot API does."""
    async with fake_bot() as (_, account, bot, _):
        sent = account.upload_document(OWNER, "big.csv", b"x" * (20 * 1024 * 1024 + 1))
        assert sent.document is not None
        with pytest.raises(BadRequest, match="File is too big"):
            await bot.get_file(sent.document["file_id"])


async def test_send_document_and_photo_are_multipart_uploads() -> None:
    """sendDocument and sendPhoto store the uploaded bytes; a photo that is not an image is refused."""
    async with fake_bot() as (_, account, bot, _):
        doc = await bot.send_document(OWNER, b"%PDF-1.4", filename="F-1.pdf", caption="<b>F-1</b>", parse_mode="HTML")
        photo = await bot.send_photo(OWNER, PNG_1X1, caption="Âge des impayés")
        assert doc.document is not None and account.file_content(doc.document.file_id) == b"%PDF-1.4"
        assert photo.photo[0].width == 1 and account.file_content(photo.photo[0].file_id) == PNG_1X1
        assert [m.caption for m in account.bot_messages(OWNER)] == ["F-1", "Âge des impayés"]
        with pytest.raises(BadRequest, match="Image_process_failed"):
            await bot.send_photo(OWNER, b"not an image")
        with pytest.raises(BadRequest, match="Wrong file identifier"):
            await bot.send_document(OWNER, "https://example.org/f.pdf")


# ---------------------------------------------------------------- start-up calls and the control API


async def test_commands_round_trip_and_invalid_commands_are_refused() -> None:
    """setMyCommands stores per language; getMyCommands reads back; an upper-case command is refused."""
    async with fake_bot() as (_, account, bot, _):
        await bot.set_my_commands([BotCommand("digest", "Relances du jour")], language_code="fr")
        assert await bot.get_my_commands(language_code="fr") == (BotCommand("digest", "Relances du jour"),)
        assert await bot.get_my_commands() == ()
        with pytest.raises(BadRequest, match="Bot_command_invalid"):
            await bot.set_my_commands([BotCommand("Digest", "x")])
        assert await bot.set_chat_menu_button()
        assert account.errors()[-1].method == "setMyCommands"


async def test_control_api_plays_the_owner_over_http() -> None:
    """The /_test/ routes and their client write, tap, upload and read the chat as the owner."""
    async with fake_bot() as (server, _, bot, _), FakeTelegramClient(server.url, DEFAULT_TOKEN) as owner:
        await owner.add_chat(222)
        await owner.send_text(222, "/start")
        await owner.upload_document(222, "f.csv", b"a;b\n")
        sent = await bot.send_message(222, "Carte", reply_markup=keyboard("r1:x"))
        tap = await owner.tap(222, sent.message_id, "r1:x")
        updates = await bot.get_updates(timeout=0)
        assert [u.effective_message.message_id for u in updates if u.effective_message] == [1, 2, 3]
        query = updates[-1].callback_query
        assert query is not None
        await query.answer("ok")
        assert (await owner.tap_state(tap["id"]))["answer_text"] == "ok"
        history = await owner.history(222)
        assert [m["text"] for m in history] == ["/start", "", "Carte"]
        assert history[2]["buttons"] == [[{"text": "B0", "callback_data": "r1:x", "url": None}]]
        assert (await owner.calls())[-1]["method"] == "answerCallbackQuery"


def test_server_runs_in_a_thread_for_synchronous_callers() -> None:
    """start_in_thread serves on a free loopback port until stop()."""
    server = FakeTelegram()
    account = server.add_bot()
    server.start_in_thread()
    try:
        assert server.port > 0
        response = httpx.post(f"{server.url}/bot{account.token}/getMe")
        assert response.json()["result"]["username"] == "relance_test_bot"
    finally:
        server.stop()


# ---------------------------------------------------------------- webhooks


async def test_set_webhook_posts_updates_with_the_secret_and_refuses_get_updates() -> None:
    """setWebhook: each update is POSTed to the URL with the secret header (a refused delivery is retried), getUpdates
    gets 409 meanwhile, getWebhookInfo shows the URL; deleteWebhook brings getUpdates back."""
    from aiohttp import web

    received: list[tuple[str | None, dict[str, Any]]] = []
    answers = [500]  # the first delivery fails: the fake must retry it

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.Response(status=answers.pop() if answers else 200)

    application = web.Application()
    application.router.add_post("/hook", hook)
    runner = web.AppRunner(application)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with fake_bot() as (_, account, bot, _raw):
            assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret_-token")
            account.send_text(OWNER, "/status")
            await account.wait_for(lambda: account.pending_updates() == 0, what="the delivery")
            assert [secret for secret, _ in received] == ["s3cret_-token", "s3cret_-token"]
            assert received[0][1] == received[1][1] and received[1][1]["message"]["text"] == "/status"
            assert [status for _, status in account.webhook_deliveries()] == [500, 200]
            info = await bot.get_webhook_info()
            assert info.url == f"http://127.0.0.1:{port}/hook" and info.last_error_message
            with pytest.raises(Conflict, match="webhook is active"):
                await bot.get_updates(timeout=0)
            assert await bot.delete_webhook()
            assert account.webhook_url is None and await bot.get_updates(timeout=0) == ()
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    ("url", "secret", "error"),
    [
        ("http://bot.example/hook", None, "HTTPS URL must be provided"),
        ("https://bot.example/hook", "has spaces", "secret token contains unallowed characters"),
        ("https://bot.example/hook", "x" * 257, "secret token contains unallowed characters"),
    ],
)
async def test_set_webhook_refuses_what_telegram_refuses(url: str, secret: str | None, error: str) -> None:
    """A plain-http URL off loopback and a secret with forbidden characters or over 256 are refused as by Telegram."""
    async with fake_bot() as (_, account, bot, _raw):
        with pytest.raises(BadRequest, match=f"(?i){error}"):
            await bot.set_webhook(url, secret_token=secret)
        assert account.webhook_url is None
