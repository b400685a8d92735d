"""Pure renderers: Topology (and secrets) in, dicts and text out. No I/O here."""
