"""`sandbox chaos`: take a zone down under load and prove, by audit, that nothing was lost.

Pure core (unit-tested with hand-written histories):
    history   every operation, invoked then ok / fail / info, plus the fault's own events
    checker   the audit: acknowledged, found, lost, duplicates, ambiguous writes resolved
    timeline  per-second successes, errors by kind, latency; the unavailability window
    recovery  when a cluster counts as recovered (every node live, no range short of one)
    report    the drill's report model, its table and JSON forms
Edges (thin, each one target or one client):
    faults    the fault injector per target (compose, kind, aws) and the healer `up` calls
    haproxy_log  when the load balancer marked the node down and up again
    sql_workload, ory_workload   the clients that write during the drill and read back after
    cluster   SQL as root for recovery and lease placement
    drill     the phases: baseline, failure, outage, restore, recovery, audit
    plot      the timeline as a picture (optional extra `plot`)
"""
