"""Sample files generated for the tests (e-invoices, bank statements), realistic and built on the fly."""
