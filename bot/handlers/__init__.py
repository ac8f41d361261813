"""The Telegram side: one module per feature, each exposing thin handlers over bot.services."""
