"""YAML text for every rendered file: plain, so a reader sees each value where it applies.

PyYAML writes an object that appears twice as an anchor and an alias (`&id001` ... `*id001`).
That is valid YAML, but a reader of `compose.yaml` or a manifest then has to chase the
anchor, and some tools mishandle aliases, so repeated values are written out every time.
Multi-line strings (scripts, schemas) become block scalars so the committed renders read well.
"""

from __future__ import annotations

from typing import Any

import yaml


class PlainDumper(yaml.SafeDumper):
    """A safe dumper that never emits anchors or aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    lines = value.split("\n")
    style = "|" if len(lines) > 1 and all(line == line.rstrip() for line in lines) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


PlainDumper.add_representer(str, _str)


def dump(*documents: Any, header: str = "") -> str:
    """YAML text of one or more documents, keys in the order the renderers build them."""
    body = yaml.dump_all(
        documents, Dumper=PlainDumper, sort_keys=False, default_flow_style=False, width=100
    )
    return header + body
