"""The pure dunning policy: the ladder of reminder steps, what is due on a given day, late-payment penalties and
the recovery indemnity, the business calendar and the sending windows.

Rule: no I/O at all. No clock (today is passed in), no database, no file reading (the shipped rate table is data
in `rates_data.py`; an owner's file is read by `services.rates`), no process-wide switches. Imports nothing of ours.
"""
