"""The shipped late-payment rate table, as data (TOML text parsed by `dunning.penalties.builtin_rate_table`).

Kept as a Python string so that the pure policy package reads no file.
"""

BUILTIN_RATES_TOML = """\
# Rate tables for late-payment penalties (art. L441-10 Code de commerce), in percent.
#
# [ecb]: the ECB main refinancing rate in force on the first day of each half-year
#        (1 January for "YYYY-H1", 1 July for "YYYY-H2"). The default penalty rate is this rate + 10 points
#        (+ 8 points for public buyers).
# [legal]: the French legal interest rate ("autres cas", i.e. creditor not a consumer) of each half-year; a
#        contractual penalty rate may not be below 3 times it.
#
# A half-year that is missing is an explicit error naming it: Relance never guesses a rate. To add a half-year,
# put the same tables in your own file with only the new lines and name it in the RATES_FILE environment
# variable (read by services.rates.load_rate_table); its lines extend (or correct) these.
# Write rates as decimal numbers (3.15 means 3.15 %); they are read exactly, never as binary floats.

[ecb]
"2022-H1" = 0.00
"2022-H2" = 0.00
"2023-H1" = 2.50
"2023-H2" = 4.00
"2024-H1" = 4.50
"2024-H2" = 4.25
"2025-H1" = 3.15
"2025-H2" = 2.15
"2026-H1" = 2.15

[legal]
"2025-H1" = 3.71
"2026-H1" = 2.62
"""
