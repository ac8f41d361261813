"""Persistence for Relance: SQLModel tables, migrations, queries, CSV import and the evidence log."""
