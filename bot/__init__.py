"""Owner-facing side of Relance: settings, the `relance` CLI, the Telegram bot and the terminal adapter."""
