"""`sandbox load`: workloads against Hydra, Kratos and Keto with numbers one can trust.

Layout: a pure core (`ops`, `stats`, `schedule`, `report`, `text`) that unit tests drive with
hand-made data, and thin edges (`http` and `workloads` for the wire, `engine` for asyncio,
`runner` for processes, `metrics` and `plot` for reporters). Every read checks its answer; a
wrong answer is counted apart from errors and fails the run.
"""
