"""The Slack adapter (slack-bolt): the same cards, buttons and commands as in Telegram, over the same services.

It imports nothing from the Telegram adapter (bot.app, bot.handlers) and nothing from `telegram`: what both chats
share lives in bot.presenter, bot.cards, bot.reports, bot.i18n and services/.
"""
