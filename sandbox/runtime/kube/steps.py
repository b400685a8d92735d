"""The commands of a Kubernetes `up`, planned as data from the stage chain.

`up_steps` is pure: from the deployment (already fitted to the cluster), the stage chain of
`sandbox.plan.stages.up_stages`, and the update plan (what the cluster already holds), it
returns the titled command lists the runtime executes in order. First the runtime's own
preparation (the provider's overlay, the namespace, the Secrets), then one step per stage:

- nodes:      apply the node objects (Services, StatefulSets, budget), wait until the pods run
              (they turn Ready only after the init one-shot);
- one-shot:   its Job (deleted first when its inputs changed: a Job's template is immutable),
              wait for completion, then, if the stage says so, for every node pod Ready;
- migrations: `helm upgrade --install` of each component: its migration hook Job runs there;
- servers:    `rollout restart` where the Secret changed, then `rollout status`.

Without `wait` (an API server without kubelets) only what applies or installs remains.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox.render import k8s
from sandbox.runtime.kube.commands import Command

if TYPE_CHECKING:
    from sandbox.model.components import Component
    from sandbox.model.topology import Topology
    from sandbox.plan.stages import Stage
    from sandbox.runtime.kube.update import UpdatePlan

VALUES_DIR = "values"
MANIFESTS_DIR = "manifests"


@dataclass(frozen=True)
class Step:
    """One titled status line of `up` and the commands behind it."""

    title: str
    commands: tuple[Command, ...]


@dataclass(frozen=True)
class Cli:
    """argv builders for one cluster: kubectl and helm with the provider's flags.

    `tool` is called only when a command is built, so a `down` that needs only `kind` never
    fetches kubectl or helm.
    """

    tool: Callable[[str], str]
    kube_flags: tuple[str, ...]
    helm_flags: tuple[str, ...]
    namespace: str

    def kubectl(self, *args: str, timeout: float | None = None) -> Command:
        """kubectl in the sandbox's namespace."""
        argv = (self.tool("kubectl"), *self.kube_flags, "--namespace", self.namespace, *args)
        return Command(argv, timeout=timeout)

    def apply(self, path: Path) -> Command:
        return self.kubectl("apply", "-f", str(path))

    def helm(self, *args: str, timeout: float | None = None) -> Command:
        return Command((self.tool("helm"), *self.helm_flags, *args), timeout=timeout)


@dataclass(frozen=True)
class Layout:
    """Which rendered manifest file holds what: the namespace, the node objects, each Job."""

    namespace: str
    nodes: tuple[str, ...]
    jobs: dict[str, str]

    @classmethod
    def of(cls, manifests: dict[str, list[dict[str, Any]]]) -> Layout:
        namespace, nodes, jobs = "", [], {}
        for name, objects in manifests.items():
            kinds = {o["kind"] for o in objects}
            if "Namespace" in kinds:
                namespace = name
            elif "Job" in kinds:
                jobs.update({o["metadata"]["name"]: name for o in objects if o["kind"] == "Job"})
            else:
                nodes.append(name)
        return cls(namespace, tuple(nodes), jobs)


def helm_install(
    cli: Cli, topology: Topology, component: Component, rendered: Path, timeout: float
) -> Command:
    """`helm upgrade --install` of one component's chart with its rendered values."""
    s = topology.settings
    return cli.helm(
        "upgrade",
        "--install",
        component.name,
        str(component.chart),
        "--repo",
        s.tools.ory_chart_repo,
        "--version",
        s.tools.ory_chart_version,
        "--namespace",
        topology.namespace,
        "--values",
        str(rendered / VALUES_DIR / f"{component.name}.yaml"),
        # Waits for the migration hook Job; the servers stage waits for the pods.
        "--timeout",
        f"{int(s.timeouts.migrations)}s",
        timeout=timeout,
    )


def job_commands(cli: Cli, path: Path, name: str, update: UpdatePlan | None) -> list[Command]:
    """Apply a Job; first delete it when its inputs changed (its template is immutable)."""
    apply = cli.apply(path)
    if update is None or name not in update.replace_jobs:
        return [apply]
    return [cli.kubectl("delete", "job", name, "--ignore-not-found", "--wait=true"), apply]


def preparation_steps(
    cli: Cli, layout: Layout, rendered: Path, first: Sequence[str], secrets: Command
) -> list[Step]:
    """Before the stage chain: the provider's own files (its StorageClass), the namespace,
    and the Secrets every later object reads."""
    steps = [
        Step("storage class (overlay)", tuple(cli.apply(rendered / f) for f in first)),
        Step("namespace", (cli.apply(rendered / MANIFESTS_DIR / layout.namespace),)),
        Step("secrets", (secrets,)),
    ]
    return [s for s in steps if s.commands]


def stage_steps(
    cli: Cli,
    topology: Topology,
    stages: Sequence[Stage],
    layout: Layout,
    rendered: Path,
    *,
    update: UpdatePlan | None,
    wait: bool,
    timeout: float,
) -> list[Step]:
    """One step per stage of the chain (see the module docstring); empty steps dropped."""
    manifests = rendered / MANIFESTS_DIR
    timeouts = topology.settings.timeouts
    pods = [f"pod/{n.pod}" for n in topology.nodes]
    charted = {c.name: c for c in topology.components if c.chart}
    installed: set[str] = set()
    steps = []
    for stage in stages:
        limit = f"--timeout={int(getattr(timeouts, stage.timeout))}s"
        now: list[Command] = []
        awaited: list[Command] = []
        if stage.kind == "nodes":
            now += [cli.apply(manifests / name) for name in layout.nodes]
            sets = [f"statefulset/{n.name}" for n in topology.nodes]
            # Pods exist once their StatefulSet counts them; they turn Ready only after the
            # init one-shot, so wait for Running here.
            awaited.append(cli.kubectl("wait", "--for=jsonpath={.status.replicas}=1", *sets, limit))
            awaited.append(
                cli.kubectl("wait", "--for=jsonpath={.status.phase}=Running", *pods, limit)
            )
        elif stage.kind == "one-shot":
            for job in stage.services:
                now += job_commands(cli, manifests / layout.jobs[job], job, update)
                awaited.append(cli.kubectl("wait", "--for=condition=complete", f"job/{job}", limit))
            if stage.nodes_ready_after:
                awaited.append(cli.kubectl("wait", "--for=condition=Ready", *pods, limit))
        elif stage.kind == "migrations":
            for component in charted.values():
                if component.migration in stage.services:
                    now.append(helm_install(cli, topology, component, rendered, timeout))
                    installed.add(component.name)
        else:  # servers
            for name in stage.services:
                if name not in charted:
                    continue
                if name not in installed:
                    now.append(helm_install(cli, topology, charted[name], rendered, timeout))
                if update is not None and name in update.restart:
                    # The pods read DSN and secrets at start: a changed Secret needs new pods.
                    now.append(cli.kubectl("rollout", "restart", f"deployment/{name}"))
                awaited.append(cli.kubectl("rollout", "status", f"deployment/{name}", limit))
        commands = now + awaited if wait else now
        if commands:
            steps.append(Step(stage.title, tuple(commands)))
    return steps


def secrets_command(
    cli: Cli, topology: Topology, material: Callable[[], k8s.SecretMaterial]
) -> Command:
    """`kubectl apply -f -` of every Secret; the YAML is built only when it runs, on stdin."""

    def text() -> str:
        return k8s.to_yaml(*k8s.secrets(topology, material()), header="")

    label = "Secrets " + ", ".join(k8s.secret_names(topology)) + " (values not shown)"
    apply = cli.kubectl("apply", "-f", "-")
    return Command(apply.argv, stdin=text, stdin_label=label)
