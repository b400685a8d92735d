"""The aws target: an EKS cluster from the eksctl file, then exactly what kind gets.

`up` checks the tools and AWS credentials, prints the plan and what it costs, and goes on only
with `--yes` (or a typed `yes` at a terminal). `--dry-run` prints every command and writes
every artifact without calling AWS. `down` deletes the namespace first (so the load balancer
controller removes the NLBs and the CSI driver the EBS volumes), then the cluster.

The kubeconfig eksctl writes is kept in the state directory, so the user's own kubeconfig is
never touched and every kubectl and helm call names its cluster explicitly.
"""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sandbox.drivers.base import DownOptions, DriverContext, UpOptions
from sandbox.drivers.k8s import CLUSTER_FILES, Command, KubernetesDriver
from sandbox.errors import BadInput, SandboxError
from sandbox.render import eksctl, helm_values, k8s, kind

PUBLIC_RISK = (
    "--public puts Hydra (in --dev mode, plain HTTP), Kratos and Keto's read API (which has no "
    "authentication) on internet-facing load balancers: anyone can reach them, read every "
    "permission tuple in Keto and run OAuth2 and login flows; the admin APIs stay private"
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


def confirm(question: str) -> bool:
    """Ask at a terminal; anything but `yes`/`y` is no. Never asks without one."""
    if not sys.stdin.isatty():
        return False
    sys.stderr.write(f"{question} [type yes]: ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in {"yes", "y"}


class AwsDriver(KubernetesDriver):
    target: k8s.TargetName = "aws"

    def __init__(self, ctx: DriverContext) -> None:
        super().__init__(ctx)
        self.env: Mapping[str, str] = os.environ
        self.home = Path.home()

    @property
    def cluster(self) -> str:
        return kind.cluster_name(self.topology)

    @property
    def region(self) -> str:
        return self.topology.settings.region

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "kubeconfig"

    @property
    def cluster_file(self) -> Path:
        return self.rendered / CLUSTER_FILES["aws"]

    def cluster_document(self) -> dict[str, Any]:
        return eksctl.cluster_config(self.topology)

    def kube_flags(self) -> list[str]:
        return ["--kubeconfig", str(self.kubeconfig)]

    def helm_flags(self) -> list[str]:
        return ["--kubeconfig", str(self.kubeconfig)]

    # ---- checks --------------------------------------------------------------------------

    def require_credentials(self) -> None:
        source = credentials_source(self.env, self.home)
        if source is None:
            raise BadInput(
                "aws: no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or run `aws configure` / `aws sso login`)"
            )
        self.ctx.status.note(f"AWS credentials: {source}")

    def require_yes(self, options_yes: bool, action: str) -> None:
        if options_yes or confirm(f"{action}?"):
            return
        raise BadInput(f"aws: {action} needs confirmation: re-run with --yes")

    def plan(self) -> None:
        t, s = self.topology, self.topology.settings
        group = eksctl.cluster_config(t)["nodeGroups"][0]
        self.ctx.status.note(
            f"plan: EKS cluster {self.cluster} in {self.region} "
            f"({', '.join(n.zone for n in t.nodes)}), node group {group['name']}: "
            f"{group['desiredCapacity']} x {group['instanceType']} ({group['amiFamily']}), "
            f"CockroachDB x{len(t.nodes)} on gp3, Hydra/Kratos/Keto chart "
            f"{s.tools.ory_chart_version}, "
            + (
                "public APIs on internet-facing NLBs, admin APIs ClusterIP"
                if self.exposed
                else "every API ClusterIP (reached through port-forwards on 127.0.0.1)"
            )
        )
        self.ctx.status.warn(
            COST_WARNING.format(
                region=self.region,
                nodes=group["desiredCapacity"],
                instance=group["instanceType"],
                lbs=len(self.public_services()) if self.exposed else 0,
                size=s.kubernetes.storage_size,
                volumes=len(t.nodes),
            )
        )

    # ---- commands ------------------------------------------------------------------------

    def _get_cluster(self, *extra: str, check: bool) -> subprocess.CompletedProcess[str]:
        from sandbox.exec import run

        argv = [
            self.tool("eksctl"),
            "get",
            "cluster",
            "--name",
            self.cluster,
            "--region",
            self.region,
            *extra,
        ]
        return run(argv, check=check, timeout=120)

    def _cluster_exists(self) -> bool:
        if self.dry_run:
            return False
        return self._get_cluster(check=False).returncode == 0

    def _vpc_id(self) -> str:
        if self.dry_run:
            return VPC_PLACEHOLDER
        clusters = json.loads(self._get_cluster("-o", "json", check=True).stdout)
        return str(clusters[0]["ResourcesVpcConfig"]["VpcId"])

    def lb_controller_commands(self) -> list[Command]:
        helm = Command(
            [
                self.tool("helm"),
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
                f"vpcId={self._vpc_id()}",
                "--wait",
            ]
        )
        rollout = Command(
            [
                self.tool("kubectl"),
                *self.kube_flags(),
                "--namespace",
                "kube-system",
                "rollout",
                "status",
                f"deployment/{eksctl.LB_CONTROLLER}",
                "--timeout=300s",
            ]
        )
        return [helm, rollout]

    def public_services(self) -> dict[str, str]:
        """Ory service -> the Service of its public API (the ones `--public` exposes)."""
        return {
            svc: helm_values.service_name(svc, key)
            for svc, ports in helm_values.SERVICE_PORTS.items()
            for key, (_port, public) in ports.items()
            if public
        }

    def after_deploy(self, options: UpOptions) -> None:
        """With --public: wait for the NLB addresses, then point the issuer and base URLs at
        them (a second `helm upgrade` of hydra and kratos)."""
        if not self.exposed:
            return
        services = self.public_services()
        wait = self.kubectl(
            "wait",
            "--for=jsonpath={.status.loadBalancer.ingress}",
            *(f"service/{name}" for name in services.values()),
            f"--timeout={int(self.topology.settings.timeouts.services_ready)}s",
        )
        timeout = options.timeout or self.topology.settings.timeouts.up
        follow = [svc for svc in services if helm_values.public_urls(svc, "x")]
        if self.dry_run:
            self.step("public load balancers", [wait])
            self.ctx.status.note(
                f"then {', '.join(follow)} are upgraded with the NLB addresses as issuer and "
                "base URLs:"
            )
            self.execute([self.helm_command(svc, timeout) for svc in follow])
            return
        self.step("public load balancers", [wait])
        for svc, name in services.items():
            ingress = self._get_json("service", name).get("status", {}).get("loadBalancer", {})
            first = (ingress.get("ingress") or [{}])[0]
            address = first.get("hostname") or first.get("ip")
            if not address:
                raise SandboxError(f"aws: service {name} has no load balancer address")
            self.addresses[svc] = address
        self.render(self.rendered)
        rollouts = [
            self.kubectl("rollout", "status", f"deployment/{svc}", "--timeout=300s")
            for svc in follow
            if options.wait
        ]
        self.step(
            "issuer and base URLs on the NLBs",
            [*(self.helm_command(svc, timeout) for svc in follow), *rollouts],
        )
        for svc, address in self.addresses.items():
            self.ctx.status.warn(f"{svc} is public at {address}")

    def up(self, options: UpOptions) -> None:
        self.dry_run = options.dry_run
        self.exposed = options.public
        if self.exposed:
            self.ctx.status.warn(PUBLIC_RISK)
            if not options.yes:
                raise BadInput("--public: exposing the APIs to the internet needs --yes as well")
        if not self.dry_run:
            self.require_credentials()
        self.preflight()
        self.prepare()
        self.plan()
        if self.dry_run:
            self.ctx.status.note("dry run: nothing is created on AWS; these commands would run:")
        else:
            self.require_yes(options.yes, f"create EKS cluster {self.cluster} in {self.region}")
            for name in ("eksctl", "kubectl", "helm"):
                self.tool(name)
        timeout = options.timeout or self.topology.settings.timeouts.up
        if self._cluster_exists():
            self.ctx.status.note(f"EKS cluster {self.cluster} exists, reusing it")
            self.step(
                "kubeconfig",
                [
                    Command(
                        [
                            self.tool("eksctl"),
                            "utils",
                            "write-kubeconfig",
                            "--cluster",
                            self.cluster,
                            "--region",
                            self.region,
                            "--kubeconfig",
                            str(self.kubeconfig),
                        ]
                    )
                ],
            )
        else:
            create = Command(
                [
                    self.tool("eksctl"),
                    "create",
                    "cluster",
                    "--config-file",
                    str(self.cluster_file),
                    "--kubeconfig",
                    str(self.kubeconfig),
                ],
                timeout=timeout,
            )
            self.step(f"EKS cluster {self.cluster} (15-20 minutes)", [create])
        self.step("AWS Load Balancer Controller", self.lb_controller_commands())
        self.up_kubernetes(options)

    def down(self, options: DownOptions) -> None:
        self.dry_run = options.dry_run
        if not self.dry_run:
            self.require_credentials()
            self.require_yes(options.yes, f"delete EKS cluster {self.cluster} in {self.region}")
        self.render(self.rendered)
        namespace = Command(
            [
                self.tool("kubectl"),
                *self.kube_flags(),
                "delete",
                "namespace",
                self.topology.namespace,
                "--ignore-not-found",
                "--wait=true",
                "--timeout=600s",
            ]
        )
        cluster = Command(
            [
                self.tool("eksctl"),
                "delete",
                "cluster",
                "--config-file",
                str(self.cluster_file),
                "--wait",
            ]
        )
        if self.dry_run:
            self.show_removal([namespace, cluster])
            return
        self.stop_forwards()
        if self._cluster_exists():
            # Load balancers and volumes first, or they outlive the cluster (and its VPC).
            self.step(f"namespace {self.topology.namespace} (NLBs, EBS volumes)", [namespace])
            self.step(f"EKS cluster {self.cluster} deleted", [cluster])
        else:
            self.ctx.status.note(f"no EKS cluster {self.cluster} in {self.region}: nothing to do")
