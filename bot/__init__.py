"""The adapters: Telegram (handlers, card and button encoding, the presenter that turns the services' results into
text and keyboards), the terminal mode and the `relance` CLI.

Rule: the only package that reads `Settings` (environment and `.env`); it turns them into the business context
(`bot/business.py`) and calls `services`. Handlers stay thin: no SQL, no templates, no SMTP.
"""
