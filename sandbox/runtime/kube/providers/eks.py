"""The eks provider: an EKS cluster from the eksctl file, then exactly what kind gets.

`up` checks the AWS credentials, prints the plan and what it costs, and goes on only with
`--yes` (or a typed `yes` at a terminal). `--dry-run` prints every command and writes every
artifact without calling AWS. `down` deletes the namespace first (so the load balancer
controller removes the NLBs and the CSI driver the EBS volumes), then the cluster.

The kubeconfig eksctl writes is kept in the state directory, so the user's own kubeconfig is
never touched and every kubectl and helm call names its cluster explicitly. With `--public`
the runtime puts the public APIs behind internet-facing NLBs, which the AWS Load Balancer
Controller (installed here) creates; they terminate TLS with the ACM certificate of
`aws.acm_certificate_arn`, without which `--public` is refused (Kratos's Secure cookies never
travel over plain HTTP, so browser flows could not keep a session).
"""

from __future__ import annotations

import configparser
import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from sandbox.errors import BadInput, CommandFailed
from sandbox.model.topology import Topology
from sandbox.render import eksctl, k8s, k8s_names, kind
from sandbox.runtime.base import DownOptions, DriverContext, UpOptions
from sandbox.runtime.kube.commands import Command, Session
from sandbox.runtime.kube.deployment import OVERLAY_FILE, overlay_file, public_services, write_files
from sandbox.runtime.kube.steps import Cli

CLUSTER_FILE = "eksctl-cluster.yaml"
PUBLIC_RISK = (
    "--public puts Hydra (in --dev mode), Kratos and Keto's read API (which has no "
    "authentication) on internet-facing load balancers: anyone can reach them, read every "
    "permission tuple in Keto and run OAuth2 and login flows; the admin APIs stay private, "
    "and so does the login UI (port-forward)"
)
LB_CONTROLLER_CHART = "aws-load-balancer-controller"
LB_CONTROLLER_REPO = "https://aws.github.io/eks-charts"
LB_CONTROLLER_CHART_VERSION = "1.14.1"
VPC_PLACEHOLDER = "<vpc id from eksctl get cluster>"
COST_WARNING = (
    "this creates billable AWS resources in {region}: an EKS control plane (about $0.10/h), "
    "{nodes} x {instance} on-demand nodes (about $0.19/h each in us-east-1), {lbs} Network "
    "Load Balancers, and gp3 volumes ({size} each, x{volumes}); roughly $0.80/h plus traffic "
    "while it runs. Check current AWS pricing. Remove it all with `sandbox down --target aws "
    "--yes`."
)


def public_tls_problem(topology: Topology) -> str | None:
    """Why `--public` cannot go ahead with these settings (None: it can).

    Kratos outside dev mode sets Secure cookies, which browsers send only over HTTPS: over
    `http://<nlb>` a browser flow never keeps its session. So the NLBs must terminate TLS, with
    an ACM certificate of the cluster's own region (an NLB takes no other).
    """
    aws, region = topology.settings.aws, topology.settings.region
    if aws.acm_certificate_arn is None:
        return (
            "--public needs aws.acm_certificate_arn (an ACM certificate for the NLBs' TLS): "
            "Kratos's Secure cookies never travel over plain HTTP"
        )
    if aws.certificate_region() != region:
        return (
            f"aws.acm_certificate_arn: the certificate is in {aws.certificate_region()}, "
            f"the cluster in {region} (an NLB takes only a certificate of its own region)"
        )
    return None


def version_refused(failed: CommandFailed, version: str) -> BadInput | None:
    """eksctl's refusal of `metadata.version` (`Error: invalid version ...`), as one line naming
    the setting; None: another failure. eksctl checks the version before it creates anything."""
    for line in f"{failed.stderr}\n{failed.stdout}".splitlines():
        low = line.lower()
        if "error" in low and "version" in low:
            return BadInput(
                f"aws.eks_version: eksctl refused EKS version {version} ({line.strip()}); set "
                "one that `eksctl utils describe-cluster-versions` lists",
                detail=failed.detail,
            )
    return None


def credentials_source(env: Mapping[str, str], home: Path) -> str | None:
    """Where the AWS SDKs would find credentials, judged offline; None: nowhere.

    Environment keys, a web-identity token, container credentials, or a profile (AWS_PROFILE
    or `default`) in the shared credentials or config file with keys, SSO, a role or a
    credential process. Whether they are still valid only AWS can say; eksctl's first call does.
    """
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        return "environment (AWS_ACCESS_KEY_ID)"
    if env.get("AWS_WEB_IDENTITY_TOKEN_FILE"):
        return "web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)"
    if env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") or env.get(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI"
    ):
        return "container credentials"
    profile = env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE") or "default"
    credentials = Path(env.get("AWS_SHARED_CREDENTIALS_FILE") or home / ".aws" / "credentials")
    config = Path(env.get("AWS_CONFIG_FILE") or home / ".aws" / "config")
    usable = (
        "aws_access_key_id",
        "sso_session",
        "sso_start_url",
        "role_arn",
        "credential_process",
        "web_identity_token_file",
    )
    for path, section in (
        (credentials, profile),
        (config, profile if profile == "default" else f"profile {profile}"),
    ):
        parser = configparser.RawConfigParser()
        try:
            parser.read(path)
        except (configparser.Error, OSError):
            continue
        if parser.has_section(section) and any(parser.has_option(section, k) for k in usable):
            return f"profile {profile} ({path})"
    return None


def confirm_at_terminal(question: str) -> bool:
    """Ask at a terminal; anything but `yes`/`y` is no. Never asks without one."""
    if not sys.stdin.isatty():
        return False
    sys.stderr.write(f"{question} [type yes]: ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in {"yes", "y"}


class EksProvider:
    """See the module docstring. `env`, `home` and `ask` are where credentials and the
    confirmation come from (the process's own by default)."""

    target = "aws"
    flavour: k8s_names.TargetName = "aws"

    def __init__(
        self,
        ctx: DriverContext,
        env: Mapping[str, str] | None = None,
        home: Path | None = None,
        ask: Callable[[str], bool] = confirm_at_terminal,
    ) -> None:
        self.topology = ctx.topology
        self.cluster = kind.cluster_name(ctx.topology)
        self.region = ctx.topology.settings.region
        self.kubeconfig = ctx.state.root / self.target / "kubeconfig"
        self.rendered = ctx.state.rendered / self.target
        self.cluster_file = self.rendered / CLUSTER_FILE
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.home = Path.home() if home is None else home
        self.ask = ask

    def files(self, topology: Topology) -> dict[str, str]:
        return {
            CLUSTER_FILE: k8s.to_yaml(eksctl.cluster_config(topology)),
            OVERLAY_FILE: overlay_file(topology, self.flavour),
        }

    def applied_first(self) -> tuple[str, ...]:
        return (OVERLAY_FILE,)

    def kube_flags(self) -> list[str]:
        return ["--kubeconfig", str(self.kubeconfig)]

    def helm_flags(self) -> list[str]:
        return ["--kubeconfig", str(self.kubeconfig)]

    def describe(self) -> str:
        return f"EKS cluster {self.cluster} in {self.region}"

    def exposes(self, options: UpOptions) -> bool:
        return options.public

    # ---- checks ------------------------------------------------------------------------------

    def require_credentials(self, session: Session) -> None:
        source = credentials_source(self.env, self.home)
        if source is None:
            raise BadInput(
                "aws: no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or run `aws configure` / `aws sso login`)"
            )
        session.note(f"AWS credentials: {source}")

    def require_yes(self, yes: bool, action: str) -> None:
        if yes or self.ask(f"{action}?"):
            return
        raise BadInput(f"aws: {action} needs confirmation: re-run with --yes")

    def check_up(self, options: UpOptions, session: Session) -> None:
        if options.public:
            problem = public_tls_problem(self.topology)
            if problem:
                raise BadInput(problem)
            session.status.warn(PUBLIC_RISK)
            if not options.yes:
                raise BadInput("--public: exposing the APIs to the internet needs --yes as well")
        if not session.dry_run:
            self.require_credentials(session)

    def confirm(self, options: UpOptions, session: Session) -> None:
        """The plan and its cost, then `--yes` (or a typed yes) before anything is created."""
        t, s = self.topology, self.topology.settings
        groups = eksctl.node_groups(t)
        nodes = sum(g["desiredCapacity"] for g in groups)
        session.note(
            f"plan: EKS cluster {self.cluster} (Kubernetes {s.aws.eks_version}) in {self.region} "
            f"({', '.join(n.zone for n in t.nodes)}), one node group per zone "
            f"({', '.join(g['name'] for g in groups)}): "
            f"{nodes} x {eksctl.INSTANCE_TYPE} ({eksctl.AMI_FAMILY}), "
            f"CockroachDB x{len(t.nodes)} on gp3, Hydra/Kratos/Keto chart "
            f"{s.tools.ory_chart_version}, "
            + (
                "public APIs on internet-facing NLBs (TLS), admin APIs ClusterIP"
                if options.public
                else "every API ClusterIP (reached through port-forwards on 127.0.0.1)"
            )
        )
        session.status.warn(
            COST_WARNING.format(
                region=self.region,
                nodes=nodes,
                instance=eksctl.INSTANCE_TYPE,
                lbs=len(public_services(t)) if options.public else 0,
                size=s.kubernetes.storage_size,
                volumes=len(t.nodes),
            )
        )
        if session.dry_run:
            session.note("dry run: nothing is created on AWS; these commands would run:")
            return
        self.require_yes(options.yes, f"create EKS cluster {self.cluster} in {self.region}")
        for name in ("eksctl", "kubectl", "helm"):
            session.tool(name)

    # ---- the cluster -------------------------------------------------------------------------

    def _get_cluster(self, session: Session, *extra: str) -> Command:
        argv = (
            session.tool("eksctl"),
            "get",
            "cluster",
            "--name",
            self.cluster,
            "--region",
            self.region,
        )
        return Command((*argv, *extra), timeout=120)

    def _exists(self, session: Session) -> bool:
        done = session.read(self._get_cluster(session))
        return done is not None and done.code == 0

    def _vpc_id(self, session: Session) -> str:
        if session.dry_run:
            return VPC_PLACEHOLDER
        done = session.executor.run(self._get_cluster(session, "-o", "json"))
        return str(json.loads(done.stdout)[0]["ResourcesVpcConfig"]["VpcId"])

    def lb_controller_commands(self, session: Session) -> list[Command]:
        helm = Command(
            (
                session.tool("helm"),
                *self.helm_flags(),
                "upgrade",
                "--install",
                eksctl.LB_CONTROLLER,
                LB_CONTROLLER_CHART,
                "--repo",
                LB_CONTROLLER_REPO,
                "--version",
                LB_CONTROLLER_CHART_VERSION,
                "--namespace",
                "kube-system",
                "--set",
                f"clusterName={self.cluster}",
                "--set",
                "serviceAccount.create=false",
                "--set",
                f"serviceAccount.name={eksctl.LB_CONTROLLER}",
                "--set",
                f"region={self.region}",
                "--set",
                f"vpcId={self._vpc_id(session)}",
                "--wait",
            )
        )
        rollout = Command(
            (
                session.tool("kubectl"),
                *self.kube_flags(),
                "--namespace",
                "kube-system",
                "rollout",
                "status",
                f"deployment/{eksctl.LB_CONTROLLER}",
                "--timeout=300s",
            )
        )
        return [helm, rollout]

    def ensure(self, options: UpOptions, session: Session) -> None:
        """The cluster (created, 15-20 minutes, or reused), its kubeconfig, the LB controller."""
        if self._exists(session):
            session.note(f"EKS cluster {self.cluster} exists, reusing it")
            kubeconfig = Command(
                (
                    session.tool("eksctl"),
                    "utils",
                    "write-kubeconfig",
                    "--cluster",
                    self.cluster,
                    "--region",
                    self.region,
                    "--kubeconfig",
                    str(self.kubeconfig),
                )
            )
            session.step("kubeconfig", [kubeconfig])
        else:
            create = Command(
                (
                    session.tool("eksctl"),
                    "create",
                    "cluster",
                    "--config-file",
                    str(self.cluster_file),
                    "--kubeconfig",
                    str(self.kubeconfig),
                ),
                timeout=options.timeout or self.topology.settings.timeouts.up,
            )
            try:
                session.step(f"EKS cluster {self.cluster} (15-20 minutes)", [create])
            except CommandFailed as failed:
                refused = version_refused(failed, self.topology.settings.aws.eks_version)
                if refused is None:
                    raise
                raise refused from failed
        session.step("AWS Load Balancer Controller", self.lb_controller_commands(session))

    def check_down(self, options: DownOptions, session: Session) -> None:
        if not session.dry_run:
            self.require_credentials(session)
            self.require_yes(options.yes, f"delete EKS cluster {self.cluster} in {self.region}")

    def delete(self, options: DownOptions, session: Session, cli: Cli) -> None:
        """The namespace first (NLBs, EBS volumes), or they outlive the cluster and its VPC."""
        write_files(self.rendered, self.files(self.topology))  # eksctl deletes by this file
        ns = self.topology.namespace
        namespace = Command(
            (
                session.tool("kubectl"),
                *self.kube_flags(),
                "delete",
                "namespace",
                ns,
                "--ignore-not-found",
                "--wait=true",
                "--timeout=600s",
            )
        )
        cluster = Command(
            (
                session.tool("eksctl"),
                "delete",
                "cluster",
                "--config-file",
                str(self.cluster_file),
                "--wait",
            )
        )
        if session.dry_run:
            session.show([namespace, cluster])
        elif self._exists(session):
            session.step(f"namespace {ns} (NLBs, EBS volumes)", [namespace])
            session.step(f"EKS cluster {self.cluster} deleted", [cluster])
        else:
            session.note(f"no EKS cluster {self.cluster} in {self.region}: nothing to do")
