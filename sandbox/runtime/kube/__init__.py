"""Kubernetes: one runtime (`runtime.KubeRuntime`) and the cluster providers it is composed with
(`providers`: existing, kind, eks). `sandbox.targets` pairs them per `--target`.

    commands.py    commands as data; the executor that runs them (real, or a recorder)
    steps.py       the commands of `up`: preparation, then the stage chain
    deployment.py  the frozen model the files are rendered from, and those files
    update.py      what a second `up` changes, refuses, or re-runs (pure)
    live.py        reading the cluster: its zones and objects, status rows
    forwards.py    port-forwards on 127.0.0.1 and their bookkeeping
"""
