"""The one table of targets: `--target` name -> runtime, cluster provider, chaos injector.

Everything that lists targets reads this table: the CLI's `--target` choices and validation,
`sandbox.runtime.get_driver`, and the zone drills (`sandbox.chaos.targets`). Adding a cluster
provider is one module under `sandbox/runtime/kube/providers/` and one row here.

Each column is a `module:attribute` string imported only when that target is used, so
`sandbox --help` imports no runtime, renderer or settings library. A row is also the factory
of its target's driver: `TARGETS["kind"](ctx)`, or `KIND(ctx)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any, Literal

from sandbox.errors import BadInput

if TYPE_CHECKING:
    from sandbox.chaos.targets import ChaosTarget
    from sandbox.runtime.base import Driver, DriverContext

KUBE_RUNTIME = "sandbox.runtime.kube.runtime:KubeRuntime"
PROVIDERS = "sandbox.runtime.kube.providers"


@dataclass(frozen=True)
class Target:
    """One row: see the module docstring."""

    name: str
    runtime: str
    """`module:factory` of the runtime; called with (ctx) or, with a provider, (ctx, provider)."""
    provider: str | None = None
    """`module:class` of the cluster provider, called with (ctx); None: no cluster (Compose)."""
    chaos: str | None = None
    """`module:object` of the zone-drill injector; None: zone drills refused on this target."""
    engines: tuple[str, ...] = ("cockroachdb",)
    """The `database.engine` values this target can run."""

    def __call__(self, ctx: DriverContext) -> Driver:
        """This target's driver for `ctx`, imported now; bad input for an engine it cannot
        run, before anything is imported or started."""
        engine = ctx.topology.settings.database.engine
        if engine not in self.engines:
            raise BadInput(
                f"database.engine: {engine} is not supported on --target {self.name} "
                f"(it runs {', '.join(self.engines)}); use --target compose or another engine"
            )
        factory = self._load(self.runtime)
        if self.provider is None:
            return factory(ctx)  # type: ignore[no-any-return]
        return factory(ctx, self._load(self.provider)(ctx))  # type: ignore[no-any-return]

    def injector(self) -> ChaosTarget | None:
        return None if self.chaos is None else self._load(self.chaos)

    def _load(self, reference: str) -> Any:
        module, _, name = reference.partition(":")
        try:
            return getattr(import_module(module), name)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            raise BadInput(
                f"--target {self.name}: this target is not available in this build"
            ) from None


COMPOSE = Target(
    "compose",
    "sandbox.runtime.compose:ComposeDriver",
    chaos="sandbox.chaos.targets:COMPOSE",
    engines=("cockroachdb", "postgres"),
)
KIND = Target("kind", KUBE_RUNTIME, f"{PROVIDERS}.kind:KindProvider", "sandbox.chaos.targets:KIND")
AWS = Target("aws", KUBE_RUNTIME, f"{PROVIDERS}.eks:EksProvider", "sandbox.chaos.targets:EKS")
K8S = Target("k8s", KUBE_RUNTIME, f"{PROVIDERS}.existing:ExistingProvider")

TARGETS: dict[str, Target] = {row.name: row for row in (COMPOSE, KIND, AWS, K8S)}
NAMES: tuple[str, ...] = tuple(TARGETS)
DEFAULT = "compose"

if TYPE_CHECKING:
    TargetChoice = str
else:
    TargetChoice = Literal[NAMES]
    """The CLI's `--target` type: typer offers and checks exactly the table's names."""


def target(name: str) -> Target:
    """The row of `name`; bad input naming the choices otherwise."""
    if name not in TARGETS:
        raise BadInput(f"--target: unknown target {name!r} (choose from {', '.join(NAMES)})")
    return TARGETS[name]


def with_chaos() -> tuple[str, ...]:
    """The targets that run zone drills, in table order."""
    return tuple(row.name for row in TARGETS.values() if row.chaos is not None)
