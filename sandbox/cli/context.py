"""What every command receives through `ctx.obj`: the global options, and settings on demand.

Settings are loaded lazily so that `--help` never pays for pydantic or reads a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.config.settings import Settings
    from sandbox.model.topology import Topology
    from sandbox.pki.layout import CertLayout
    from sandbox.state import StateDir


class Output(StrEnum):
    table = "table"
    json = "json"


@dataclass
class AppContext:
    config: Path | None
    state_dir: Path
    debug: bool = False
    _settings: Settings | None = field(default=None, repr=False)
    config_file: Path | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            from sandbox.model.load import load_settings

            self._settings, self.config_file = load_settings(self.config)
        return self._settings

    def topology(self) -> Topology:
        from sandbox.model.topology import Topology

        return Topology(self.settings())

    def state(self) -> StateDir:
        from sandbox.state import StateDir

        return StateDir(self.state_dir)

    def cert_layout(self) -> CertLayout:
        from sandbox.pki.layout import CertLayout

        return CertLayout(self.state().certs)
