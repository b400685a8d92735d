"""Values for the official Ory Helm charts (hydra, kratos, keto), identical on kind and EKS.

Each chart's `<svc>.config` is the configuration Compose mounts (`ory.configs`) without its
`dsn`, which the charts strip. The chart ConfigMaps hold every one of those keys with the same
value, plus defaults the charts add themselves (hydra `serve.tls.allow_termination_from`,
kratos `courier.smtp`, keto `serve.metrics.port`); tests/integration/test_helm_values.py
compares them key by key. The DSN (with the password) and the service secrets come from an
existing Secret (`secret.enabled: false` + `secret.nameOverride`), which the charts turn back
into the env names `ory.secret_env` uses (`DSN`, `SECRETS_*`). The CockroachDB CA is mounted
from the CA-only Secret at `ory.CA_PATH`, in the servers and in the migration Job, which is a
pre-install hook: the driver creates both Secrets before `helm install`. No Ory pod gets a
Kubernetes API token: none of them calls the API.

Every API is a `ClusterIP` Service: the host reaches them through port-forwards on 127.0.0.1.
Only aws `--public` puts the public APIs (Hydra 4444, Kratos 4433, Keto read 4466) behind
internet-facing NLBs, which terminate TLS with the ACM certificate of `aws.acm_certificate_arn`;
their issuer and base URLs then name the NLBs (or `<svc>.<aws.public_domain>`) over https. The
admin APIs (Hydra 4445, Kratos 4434, Keto write 4467) stay `ClusterIP`, never public.

Every server gets a start-up budget that fits a loaded laptop (`STARTUP_PROBE`).
"""

from __future__ import annotations

import json
from typing import Any

from sandbox.model.catalog import BY_NAME, IDENTITY_SCHEMA, UI
from sandbox.model.topology import Topology
from sandbox.render import login, ory
from sandbox.render.k8s_names import CA_SECRET, HOSTNAME_LABEL, ory_secret
from sandbox.render.kind import ZONE_LABEL

NLB_ANNOTATIONS = {
    "service.beta.kubernetes.io/aws-load-balancer-type": "external",
    "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
}
TLS_CERT_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-ssl-cert"
TLS_PORTS_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-ssl-ports"
IDENTITY_SCHEMA_FILE = IDENTITY_SCHEMA
STARTUP_PROBE = {
    "initialDelaySeconds": 1,
    "periodSeconds": 3,
    "timeoutSeconds": 3,
    "failureThreshold": 40,
    "successThreshold": 1,
}
"""`deployment.startupProbe` of all three charts (the timers; the charts add the `httpGet` of
`/health/ready`). Their default, period 1 s x 5 failures, gives a pod about 6 s to reach the
database through TLS, and a loaded kind cluster restarts it in a loop; this gives it about
two minutes (3 s x 40), within `timeouts.services_ready`. Helm merges the map key by key, so
every timer is set here."""


def chart_reference(service: str) -> str:
    """The chart's name in the Ory repository (`helm ... <svc> --repo <tools.ory_chart_repo>`)."""
    return service


def service_name(service: str, port_key: str) -> str:
    """The Service a chart creates: `<release>-<key>` (release named like the service), or the
    component's own name for it (`Component.service_name`)."""
    return BY_NAME[service].service_name(port_key)


def chart_image(reference: str) -> dict[str, str]:
    """`[registry/]repository[:tag][@digest]` split the way the Ory charts assemble it."""
    name, _, digest = reference.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = ""
    if ":" in last:
        name, _, tag = name.rpartition(":")
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, rest
    else:
        registry, repository = "docker.io", name
    if digest:
        tag = f"{tag}@{digest}" if tag else f"@{digest}"
    return {"registry": registry, "repository": repository, "tag": tag}


def _ca_volume() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    volumes = [
        {
            "name": "crdb-ca",
            "secret": {
                "secretName": CA_SECRET,
                "defaultMode": 0o444,
                "items": [{"key": "ca.crt", "path": "ca.crt"}],
            },
        }
    ]
    mount_dir = ory.CA_PATH.rsplit("/", 1)[0]
    mounts = [{"name": "crdb-ca", "mountPath": mount_dir, "readOnly": True}]
    return volumes, mounts


def _nlb_annotations(topology: Topology, port: int) -> dict[str, str]:
    """An internet-facing NLB, terminating TLS on `port` when a certificate is set: Kratos's
    Secure cookies need HTTPS in the browser (the aws provider refuses `--public` without)."""
    certificate = topology.settings.aws.acm_certificate_arn
    if certificate is None:
        return dict(NLB_ANNOTATIONS)
    return {**NLB_ANNOTATIONS, TLS_CERT_ANNOTATION: certificate, TLS_PORTS_ANNOTATION: str(port)}


def _services(topology: Topology, service: str, exposed: bool) -> dict[str, Any]:
    """ClusterIP everywhere by default (the host gets there through port-forwards); with
    `exposed` (aws `--public`) the public APIs get internet-facing NLBs, admin APIs never do."""
    out: dict[str, Any] = {}
    for spec in BY_NAME[service].ports:
        balanced = exposed and spec.role == "public"
        out[spec.name] = {
            "enabled": True,
            "type": "LoadBalancer" if balanced else "ClusterIP",
            "port": spec.container,
            "annotations": _nlb_annotations(topology, spec.container) if balanced else {},
        }
    return out


def public_urls(service: str, host: str, scheme: str = "http") -> dict[tuple[str, ...], str]:
    """Config paths that must name the address users reach `service` at, behind its NLB."""
    if service == "hydra":
        issuer = f"{scheme}://{host}:{BY_NAME['hydra'].port('public').container}/"
        return {("urls", "self", "issuer"): issuer, ("urls", "self", "public"): issuer}
    if service == "kratos":
        url = f"{scheme}://{host}:{BY_NAME['kratos'].port('public').container}/"
        return {("serve", "public", "base_url"): url}
    return {}


def _public_address(
    topology: Topology, service: str, exposed: bool, address: str | None
) -> tuple[str | None, str]:
    """(host, scheme) the public URLs name: `<svc>.<aws.public_domain>` when exposed under a
    domain, else the NLB's address once known; https when the NLB terminates TLS."""
    aws = topology.settings.aws
    scheme = "https" if exposed and aws.acm_certificate_arn else "http"
    if exposed and aws.public_domain:
        return f"{service}.{aws.public_domain}", scheme
    return address, scheme


def _memory(topology: Topology, service: str) -> dict[str, Any]:
    memory = f"{getattr(topology.settings.memory, service)}Mi"
    return {"requests": {"memory": memory}, "limits": {"memory": memory}}


def _deployment(topology: Topology, service: str) -> dict[str, Any]:
    volumes, mounts = _ca_volume()
    return {
        "resources": _memory(topology, service),
        "automountServiceAccountToken": False,
        "extraEnv": [{"name": k, "value": v} for k, v in ory.SERVER_ENV.items()],
        "extraVolumes": volumes,
        "extraVolumeMounts": mounts,
        "startupProbe": dict(STARTUP_PROBE),
        "topologySpreadConstraints": _spread(topology, service),
    }


def _spread(topology: Topology, service: str) -> list[dict[str, Any]]:
    return [
        {
            "maxSkew": 1,
            # By zone, strictly; by host (no three zones) only where hosts allow it.
            **(
                {"topologyKey": ZONE_LABEL, "whenUnsatisfiable": "DoNotSchedule"}
                if topology.settings.kubernetes.spread == "zone"
                else {"topologyKey": HOSTNAME_LABEL, "whenUnsatisfiable": "ScheduleAnyway"}
            ),
            "labelSelector": {
                "matchLabels": {
                    "app.kubernetes.io/name": service,
                    "app.kubernetes.io/instance": service,
                }
            },
        }
    ]


UI_CHART_ENV = ("DANGEROUSLY_DISABLE_SECURE_CSRF_COOKIES", "REMEMBER_CONSENT_SESSION_FOR_SECONDS")
"""The UI's variables its chart has no value for (`deployment.extraEnv`)."""


def ui_values(topology: Topology) -> dict[str, Any]:
    """The `kratos-selfservice-ui-node` chart: the same environment as on Compose. The chart
    names its Deployment and its one Service after `fullnameOverride`, reads the URLs from
    top-level values and the two cookie secrets from the Secret (`secretsCookie`,
    `secretsCSRFCookie`); without `config.csrfCookieName` the UI would not start."""
    env = login.ui_environment(topology)
    return {
        "replicaCount": len(topology.nodes),
        "nameOverride": UI.name,
        "fullnameOverride": UI.service_name("http"),
        "image": chart_image(topology.image(UI.name)),
        "service": {"type": "ClusterIP", "port": UI.port("http").container},
        "kratosPublicUrl": env["KRATOS_PUBLIC_URL"],
        "kratosBrowserUrl": env["KRATOS_BROWSER_URL"],
        "kratosAdminUrl": env["KRATOS_ADMIN_URL"],
        "hydraAdminUrl": env["HYDRA_ADMIN_URL"],
        "config": {"csrfCookieName": env["CSRF_COOKIE_NAME"]},
        "secret": {"enabled": False, "nameOverride": ory_secret(UI.name)},
        "deployment": {
            "resources": _memory(topology, UI.name),
            "extraEnv": [{"name": k, "value": env[k]} for k in UI_CHART_ENV],
            "topologySpreadConstraints": _spread(topology, UI.name),
        },
    }


def values(
    topology: Topology, service: str, exposed: bool = False, address: str | None = None
) -> dict[str, Any]:
    """The values file of one Ory chart; `exposed` puts the public API behind an NLB, and
    `address` (that NLB's, once known) becomes the issuer or base URL."""
    if service not in (c.name for c in topology.components if c.chart):
        raise ValueError(f"unknown Ory service {service!r}")
    if service == UI.name:
        return ui_values(topology)
    one_shot = f"{topology.settings.memory.one_shot}Mi"
    config = chart_config(topology, service)
    host, scheme = _public_address(topology, service, exposed, address)
    for path, url in (public_urls(service, host, scheme) if host else {}).items():
        node = config
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = url
    server: dict[str, Any] = {
        "config": config,
        "automigration": {"enabled": True, "type": "job"},
    }
    out: dict[str, Any] = {
        "replicaCount": len(topology.nodes),  # one per zone, held there by the spread below
        "image": chart_image(topology.image(service)),
        "secret": {"enabled": False, "nameOverride": ory_secret(service)},
        "service": _services(topology, service, exposed),
        service: server,
        "deployment": _deployment(topology, service),
        # The migration Job: all three charts read its limits here (kratos and keto ignore
        # `<svc>.automigration.resources`), and it needs no Kubernetes API token.
        "job": {
            "resources": {"requests": {"memory": one_shot}, "limits": {"memory": one_shot}},
            "automountServiceAccountToken": False,
        },
    }
    if service == "hydra":
        server["dev"] = True  # plain-HTTP issuer on 127.0.0.1, as on Compose
        out["maester"] = {"enabled": False}
    if service == "keto":
        # The keto chart takes `deployment.automountServiceAccountToken: false` for "unset" and
        # falls back to this top-level key; without it the server pods get a token.
        out["automountServiceAccountToken"] = False
    if service == "kratos":
        server["identitySchemas"] = {
            IDENTITY_SCHEMA_FILE: json.dumps(ory.identity_schema(), indent=2) + "\n"
        }
        out["courier"] = {"enabled": False}
    return out


def chart_config(topology: Topology, service: str) -> dict[str, Any]:
    """`<svc>.config`: the Compose config without `dsn`, which every chart strips (the DSN
    comes from the Secret)."""
    return {k: v for k, v in ory.configs(topology)[service].items() if k != "dsn"}


def all_values(
    topology: Topology, exposed: bool = False, addresses: dict[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    charted = [c.name for c in topology.components if c.chart]
    return {svc: values(topology, svc, exposed, (addresses or {}).get(svc)) for svc in charted}


def port_forwards(topology: Topology) -> list[tuple[str, int, int]]:
    """(kubectl resource, host port on 127.0.0.1, its port): how the host reaches the stack.

    The same host ports as Compose, so `env`, `status` and `verify` work unchanged: each API,
    the SQL service behind `ports.sql`, and every node's SQL and HTTP port.
    """
    p = topology.settings.ports
    engine = topology.engine
    out = [
        (f"svc/{service_name(c.name, spec.name)}", getattr(p, spec.host_setting), spec.container)
        for c in topology.components
        if c.chart
        for spec in c.ports
    ]
    out.append((f"svc/{topology.load_balancer}", p.sql, engine.sql_port))
    for node in topology.nodes:
        out.append((f"pod/{node.pod}", node.sql_host_port, engine.sql_port))
        out.append((f"pod/{node.pod}", node.http_host_port, engine.http_port))
    return out
