"""`sandbox verify`: end-to-end checks of Hydra, Kratos and Keto, down to the database rows.

report.py   the result model (Check, Report) and its summaries; no I/O
targets.py  where the services are: defaults < state < environment < flags
http.py     the few HTTP helpers the checks share, and CheckFailed
hydra.py, kratos.py, keto.py, sql.py   one function per check
verify.py   the plan: order, prerequisites, timing, skips, the overall result
"""
