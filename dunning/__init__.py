"""The pure dunning policy: the ladder of reminder steps, what is due on a given day, late-payment penalties.

No I/O, no clock, no database: every function takes `today` and plain values.
"""
