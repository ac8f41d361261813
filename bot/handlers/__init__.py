"""The Telegram side: one module per feature, each exposing thin handlers over the presenter (bot/presenter.py),
which calls the chat-free use cases (services/) and renders their results."""
