"""Persistence for Relance: SQLModel tables, Alembic migrations, the reminders, invoices and clients of each
business, the hash-chained evidence log.

Rule: persistence only. Imports `dunning` and nothing else of ours: no SMTP, no templates, no environment, no chat.
Every function that reads or writes business data takes `business_id` explicitly.
"""
