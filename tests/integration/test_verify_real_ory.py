"""`sandbox verify` against REAL Ory servers and a real PostgreSQL, over verified TLS.

This is the closest this machine gets to the real stack: CockroachDB images cannot be pulled
here, so the database is Debian's PostgreSQL with TLS from the sandbox's PKI (crdb-1's node
certificate, `sslmode=verify-full`, the `ory` user with a password), set up the way the
bootstrap sets up CockroachDB. The Ory servers are built from their Go modules by
scripts/prepare-ory.sh and run as local processes on 127.0.0.1 with the configs the sandbox
renders. The Go module proxy here refuses Ory v26.2.0, so they are hydra v2.3.0, kratos v1.3.1
and keto v0.13.0-alpha.0: same API flows, and the SQL checks handle both schemas.

Every check passes, through the real CLI entry point, and each check is then shown able to
fail against the same real servers, by breaking exactly what it checks.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sandbox.checks import hydra as hydra_checks
from sandbox.checks import oidc as oidc_checks
from sandbox.checks.report import Report, Result
from sandbox.checks.run import Run
from sandbox.checks.targets import resolve
from sandbox.checks.verify import PLAN, Step, verify
from sandbox.model.topology import Topology
from sandbox.pki.layout import CertLayout
from tests.support import ory
from tests.support.cli import run_sandbox
from tests.support.postgres import Server, sandbox_postgres

pytestmark = ory.real_ory_marks()


@dataclass
class Live:
    stack: ory.OryStack
    pg: Server
    layout: CertLayout
    topology: Topology
    monkeypatch: pytest.MonkeyPatch | None = None
    """The current test's, for sabotage that swaps what a check generates."""


@pytest.fixture(scope="module")
def live(session_pki: tuple[Topology, CertLayout]) -> Iterator[Live]:
    topology, layout = session_pki
    with sandbox_postgres(layout, "password") as pg:
        ory.create_databases(pg)
        with ory.ory_stack(topology, pg, layout.ca_cert) as stack:
            yield Live(stack, pg, layout, topology)


GUIDE_VARIABLES = (
    *("SANDBOX_", "HYDRA_", "KRATOS_PUBLIC_URL", "KRATOS_ADMIN_URL"),
    *("KETO_READ_REMOTE", "KETO_WRITE_REMOTE", "DATABASE_URL"),
)
"""The caller's variables `verify` would read: each test sets its own."""


def cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_sandbox(cwd, *args, env=env, drop=GUIDE_VARIABLES, timeout=180)


def assert_no_secrets(text: str) -> None:
    assert ory.DB_PASSWORD not in text
    assert "ory_st_" not in text  # Kratos session tokens
    assert "ory_at_" not in text  # Hydra access tokens
    assert "ory_rt_" not in text  # Hydra refresh tokens (the OIDC checks get some)
    assert "eyJ" not in text  # a JWT: the ID tokens of the OIDC checks


def test_verify_passes_through_the_cli_from_environment_variables(
    live: Live, tmp_path: Path
) -> None:
    done = cli(
        ["--state-dir", str(tmp_path / "none"), "verify", "-o", "json"], live.stack.env(), tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(done.stdout)
    assert data["ok"] is True
    assert data["counts"] == {"pass": 29, "fail": 0, "skip": 0}
    assert {c["service"] for c in data["checks"]} == {"hydra", "kratos", "keto", "sql", "oidc"}
    # The UI is not in the environment (verify plays its part itself): its default stands.
    assert data["sources"].pop("KRATOS_UI_URL") == "defaults"
    assert set(data["sources"].values()) == {"env"}
    sql_checks = {c["name"]: c for c in data["checks"] if c["service"] == "sql"}
    assert "keto_uuid_mappings" in sql_checks["sql.keto_relation_tuples"]["sql"]
    assert_no_secrets(done.stdout + done.stderr)


def test_verify_table_from_flags_prints_the_sql(live: Live, tmp_path: Path) -> None:
    u = live.stack.urls
    flags = [
        f"--hydra-public-url={u['HYDRA_PUBLIC_URL']}",
        f"--hydra-admin-url={u['HYDRA_ADMIN_URL']}",
        f"--kratos-public-url={u['KRATOS_PUBLIC_URL']}",
        f"--kratos-admin-url={u['KRATOS_ADMIN_URL']}",
        f"--keto-read-url={u['KETO_READ_REMOTE']}",
        f"--keto-write-url={u['KETO_WRITE_REMOTE']}",
        # an Ory DSN works too: cockroach:// and Ory's pool options are translated
        "--database-url="
        + live.stack.database_urls["hydra"].replace("postgresql://", "cockroach://", 1)
        + "&max_conns=5",
    ]
    # Wrong values in the environment lose to the flags.
    env = {"HYDRA_ADMIN_URL": "http://127.0.0.1:9", "DATABASE_URL": "postgresql://x@127.0.0.1:9/x"}
    done = cli(["--state-dir", str(tmp_path / "none"), "verify", *flags], env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all checks passed: 29 passed" in done.stdout
    assert "FROM hydra_client" in done.stdout and "JOIN identity_credentials" in done.stdout
    assert_no_secrets(done.stdout + done.stderr)


def test_verify_finds_everything_in_the_sandbox_state(live: Live, tmp_path: Path) -> None:
    """No URL given: the ports come from settings, the password and CA from the state dir."""
    state = tmp_path / "state"
    ca_dir = state / "certs" / "clients" / "ory"
    ca_dir.mkdir(parents=True)
    (ca_dir / "ca.crt").write_bytes(live.layout.ca_cert.read_bytes())
    (state / "secrets").mkdir()
    (state / "secrets" / "ory-db-password").write_text(ory.DB_PASSWORD)
    port = {k: v.rsplit(":", 1)[1] for k, v in live.stack.urls.items()}
    env = {
        "SANDBOX_PORTS__SQL": str(live.pg.port),
        "SANDBOX_PORTS__HYDRA_PUBLIC": port["HYDRA_PUBLIC_URL"],
        "SANDBOX_PORTS__HYDRA_ADMIN": port["HYDRA_ADMIN_URL"],
        "SANDBOX_PORTS__KRATOS_PUBLIC": port["KRATOS_PUBLIC_URL"],
        "SANDBOX_PORTS__KRATOS_ADMIN": port["KRATOS_ADMIN_URL"],
        "SANDBOX_PORTS__KETO_READ": port["KETO_READ_REMOTE"],
        "SANDBOX_PORTS__KETO_WRITE": port["KETO_WRITE_REMOTE"],
    }
    done = cli(["--state-dir", str(state), "verify", "--output", "json"], env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(done.stdout)
    assert data["ok"] is True
    assert data["sources"]["HYDRA_DATABASE_URL"] == "state"
    assert data["sources"]["HYDRA_ADMIN_URL"] == "state"  # its ports: the settings above
    assert_no_secrets(done.stdout + done.stderr)


def test_unreachable_stack_fails_in_seconds_with_one_line(tmp_path: Path) -> None:
    from tests.support.ports import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    env = {k: dead for k in ("HYDRA_PUBLIC_URL", "HYDRA_ADMIN_URL", "KRATOS_PUBLIC_URL")}
    env |= {k: dead for k in ("KRATOS_ADMIN_URL", "KETO_READ_REMOTE", "KETO_WRITE_REMOTE")}
    done = cli(["--state-dir", str(tmp_path / "none"), "verify"], env, tmp_path)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("error: no Ory service answers")
    assert len([ln for ln in lines if ln.startswith("error:")]) == 1
    assert done.stdout == ""


# -- every check can fail against the real servers -------------------------------------------


Sabotage = Callable[[Run, Live], None]


def _keto_delete(run: Run, relation: str, subject: str) -> None:
    params = {"namespace": "documents", "object": run.document, "relation": relation}
    if subject.startswith("("):
        ns_obj, rel = subject.strip("()").split("#")
        ns, obj = ns_obj.split(":")
        params |= {
            "subject_set.namespace": ns,
            "subject_set.object": obj,
            "subject_set.relation": rel,
        }
    else:
        params["subject_id"] = subject
    resp = run.http.delete(run.url("KETO_WRITE_REMOTE", "/admin/relation-tuples"), params=params)
    assert resp.status_code == 204, resp.text


def _grant_bob(run: Run, live: Live) -> None:
    body = {"namespace": "documents", "object": run.document, "relation": "viewer"}
    resp = run.http.put(
        run.url("KETO_WRITE_REMOTE", "/admin/relation-tuples"),
        json={**body, "subject_id": "user:bob"},
    )
    assert resp.status_code == 201, resp.text


def _delete_client(run: Run, live: Live) -> None:
    path = f"/admin/clients/{run.facts['client_id']}"
    assert run.http.delete(run.url("HYDRA_ADMIN_URL", path)).status_code == 204


def _revoke_token(run: Run, live: Live) -> None:
    resp = run.http.post(
        run.url("HYDRA_PUBLIC_URL", "/oauth2/revoke"),
        data={"token": run.facts["access_token"]},
        auth=(run.facts["client_id"], run.facts["client_secret"]),
    )
    assert resp.status_code == 200, resp.text


class _Secrets:
    """Stands in for `secrets` in the hydra checks: hands out chosen values."""

    def __init__(self, values: list[str]) -> None:
        self.values = values

    def token_urlsafe(self, n: int) -> str:
        return self.values.pop(0)


def _right_secret_as_wrong(run: Run, live: Live) -> None:
    assert live.monkeypatch is not None
    live.monkeypatch.setattr(hydra_checks, "secrets", _Secrets([run.facts["client_secret"]]))


def _real_token_as_unknown(run: Run, live: Live) -> None:
    resp = run.http.post(
        run.url("HYDRA_PUBLIC_URL", "/oauth2/token"),
        data={"grant_type": "client_credentials"},
        auth=(run.facts["client_id"], run.facts["client_secret"]),
    )
    key, sig = resp.json()["access_token"].removeprefix("ory_at_").split(".")
    assert live.monkeypatch is not None
    live.monkeypatch.setattr(hydra_checks, "secrets", _Secrets([key, sig]))


def _register_email_first(run: Run, live: Live) -> None:
    base = run.targets.urls["KRATOS_PUBLIC_URL"]
    flow = run.http.get(f"{base}/self-service/registration/api").json()["id"]
    body = {
        "method": "password",
        "password": "an-unrelated-Pass-4242!",
        "traits": {"email": run.email},
    }
    resp = run.http.post(f"{base}/self-service/registration", params={"flow": flow}, json=body)
    assert resp.status_code == 200, resp.text


def _delete_identity(run: Run, live: Live) -> None:
    path = f"/admin/identities/{run.facts['identity_id']}"
    assert run.http.delete(run.url("KRATOS_ADMIN_URL", path)).status_code == 204


def _revoke_sessions(run: Run, live: Live) -> None:
    path = f"/admin/identities/{run.facts['identity_id']}/sessions"
    assert run.http.delete(run.url("KRATOS_ADMIN_URL", path)).status_code == 204


def _fresh_session(run: Run, live: Live) -> None:
    base = run.targets.urls["KRATOS_PUBLIC_URL"]
    flow = run.http.get(f"{base}/self-service/login/api").json()["id"]
    body = {"method": "password", "identifier": run.email, "password": run.facts["password"]}
    resp = run.http.post(f"{base}/self-service/login", params={"flow": flow}, json=body)
    run.facts["session_token"] = resp.json()["session_token"]


def _psql(db: str, statement: Callable[[Run], str]) -> Sabotage:
    def sabotage(run: Run, live: Live) -> None:
        live.pg.psql(statement(run), db=db)

    return sabotage


def _hashed(run: Run) -> str:
    from sandbox.checks.sql import token_signatures

    return token_signatures(run.facts["access_token"])[0]


def _oidc(run: Run) -> oidc_checks.Flow:
    flow = run.facts["oidc"]
    assert isinstance(flow, oidc_checks.Flow)
    return flow


def _foreign_jwks(run: Run, live: Live) -> None:
    """The ID token checked against another provider's keys (same key ids)."""
    from joserfc.jwk import RSAKey

    flow = _oidc(run)
    keys = []
    for key in flow.jwks["keys"]:
        other = RSAKey.generate_key(2048, parameters={"kid": key["kid"], "use": "sig"})
        keys.append(other.as_dict(private=False))
    flow.jwks = {"keys": keys}


def _client_patch(run: Run, name: str, ops: list[dict[str, Any]]) -> None:
    client_id = _oidc(run).clients[name].client_id
    path = f"/admin/clients/{client_id}"
    resp = run.http.patch(run.url("HYDRA_ADMIN_URL", path), json=ops)
    assert resp.status_code == 200, resp.text


def _untrusted_skips_consent(run: Run, live: Live) -> None:
    _client_patch(run, "untrusted", [{"op": "replace", "path": "/skip_consent", "value": True}])


def _register_the_foreign_uri(run: Run, live: Live) -> None:
    op = {"op": "add", "path": "/redirect_uris/-", "value": oidc_checks.UNREGISTERED_URI}
    _client_patch(run, "trusted", [op])


def _revoke_access_token(run: Run, live: Live) -> None:
    flow = _oidc(run)
    assert flow.tokens is not None
    resp = run.http.post(
        flow.provider.issuer.rstrip("/") + "/oauth2/revoke",
        data={"token": flow.tokens.access_token, "client_id": flow.clients["trusted"].client_id},
    )
    assert resp.status_code == 200, resp.text


def _spend_refresh_token(run: Run, live: Live) -> None:
    flow = _oidc(run)
    assert flow.tokens is not None and flow.tokens.refresh_token
    flow.clients["trusted"].refresh(flow.tokens.refresh_token)


def _right_verifier_as_wrong(run: Run, live: Live) -> None:
    assert live.monkeypatch is not None
    live.monkeypatch.setattr(oidc_checks, "tampered", lambda verifier: verifier)


def _replay_answered_from_memory(run: Run, live: Live) -> None:
    """A provider that answers a replayed code with the first tokens (and never revokes)."""
    assert live.monkeypatch is not None
    original = oidc_checks.PublicClient.exchange
    answered: dict[str, oidc_checks.Tokens] = {}

    def exchange(self: Any, callback_url: str, auth: Any, verifier: str | None = None) -> Any:
        if callback_url not in answered:
            answered[callback_url] = original(self, callback_url, auth, verifier)
            return answered[callback_url]
        return answered[callback_url]

    live.monkeypatch.setattr(oidc_checks.PublicClient, "exchange", exchange)


def _pkce_always_sent(run: Run, live: Live) -> None:
    assert live.monkeypatch is not None
    original = oidc_checks.PublicClient.begin

    def begin(self: Any, *, redirect_uri: str | None = None, pkce: bool = True) -> Any:
        return original(self, redirect_uri=redirect_uri, pkce=True)

    live.monkeypatch.setattr(oidc_checks.PublicClient, "begin", begin)


def _unlink_kratos_session(run: Run, live: Live) -> None:
    """Hydra ends the Kratos session it was given at login; without that link it cannot."""
    subject = run.facts["identity_id"]
    live.pg.psql(
        "UPDATE hydra_oauth2_authentication_session SET identity_provider_session_id = NULL "
        f"WHERE subject = '{subject}'",
        db="hydra",
    )


@dataclass(frozen=True)
class Case:
    check: str
    reason: str
    sabotage: Sabotage | None = None
    retarget: dict[str, str] | None = None
    """Point one URL elsewhere (relative to the stack's URLs: KEY -> other KEY + suffix)."""


CASES = [
    Case("hydra.client.create", "HTTP 404 from POST /nope/admin/clients",
         retarget={"HYDRA_ADMIN_URL": "HYDRA_ADMIN_URL:/nope"}),
    Case("hydra.token.issue", "HTTP 401 from POST /oauth2/token: invalid_client", _delete_client),
    Case("hydra.token.introspect", "active=False", _revoke_token),
    Case("hydra.secret.wrong-refused", "a wrong client secret got a token", _right_secret_as_wrong),
    Case("hydra.token.unknown-inactive", "introspects as active=True", _real_token_as_unknown),
    Case("kratos.register", "HTTP 400 from POST /self-service/registration", _register_email_first),
    Case("kratos.login", "HTTP 400 from POST /self-service/login", _delete_identity),
    Case("kratos.whoami", "HTTP 401 from GET /sessions/whoami", _revoke_sessions),
    Case("kratos.logout", "from DELETE /self-service/logout/api", _revoke_sessions),
    Case("kratos.whoami.refused-after-logout", "the old session still works", _fresh_session),
    Case("keto.tuples.write", "HTTP 404 from PUT /admin/relation-tuples",
         retarget={"KETO_WRITE_REMOTE": "KETO_READ_REMOTE:"}),
    Case("keto.check.allowed", "user:alice is denied",
         lambda run, live: _keto_delete(run, "viewer", "user:alice")),
    Case("keto.check.denied", "user:bob is ALLOWED viewer", _grant_bob),
    Case("keto.check.subject-set", "user:maureen (owner) is denied",
         lambda run, live: _keto_delete(run, "owner", "user:maureen")),
    Case("keto.expand", "lacks user:maureen via #owner",
         lambda run, live: _keto_delete(run, "viewer", f"(documents:{run.document}#owner)")),
    Case("sql.hydra_client", "hydra_client: 0 rows",
         _psql("hydra", lambda r: f"DELETE FROM hydra_client WHERE id = '{r.facts['client_id']}'")),
    Case("sql.hydra_oauth2_access", "hydra_oauth2_access: 0 rows",
         _psql("hydra", lambda r: "DELETE FROM hydra_oauth2_access "
               f"WHERE signature = '{_hashed(r)}'")),
    Case("sql.identities", "the plain password is stored",
         _psql("kratos", lambda r: "UPDATE identity_credentials SET config = "
               f"""'{{"hashed_password": "{r.facts['password']}"}}' """
               f"WHERE identity_id = '{r.facts['identity_id']}'")),
    Case("sql.keto_relation_tuples", "missing ['documents:doc-",
         _psql("keto", lambda r: "DELETE FROM keto_relation_tuples WHERE subject_id = "
               f"(SELECT id FROM keto_uuid_mappings WHERE string_representation = 'user:alice') "
               f"AND object = (SELECT id FROM keto_uuid_mappings "
               f"WHERE string_representation = '{r.document}')")),
    Case("oidc.clients.create", "HTTP 404 from POST /nope/admin/clients",
         retarget={"HYDRA_ADMIN_URL": "HYDRA_ADMIN_URL:/nope"}),
    Case("oidc.login.trusted", "the ID token's signature does not verify", _foreign_jwks),
    Case("oidc.consent.granted", "did not ask an untrusted client's user for consent",
         _untrusted_skips_consent),
    Case("oidc.userinfo", "HTTP 401 from GET /userinfo", _revoke_access_token),
    Case("oidc.refresh.rotated", "refused the refresh token", _spend_refresh_token),
    Case("oidc.pkce.wrong-verifier-refused", "exchanged a code for a wrong PKCE verifier",
         _right_verifier_as_wrong),
    Case("oidc.code.replay-refused", "exchanged the same code twice",
         _replay_answered_from_memory),
    Case("oidc.redirect.unregistered-refused", "accepted a redirect URI the client never",
         _register_the_foreign_uri),
    Case("oidc.pkce.required", "sent no PKCE challenge", _pkce_always_sent),
    Case("oidc.logout.both-sessions", "Kratos still answers whoami with HTTP 200",
         _unlink_kratos_session),
]  # fmt: skip


def test_every_check_has_a_failure_case() -> None:
    assert {c.check for c in CASES} == {s.name for s in PLAN}


def _plan_with(case: Case, live: Live) -> list[Step]:
    plan: list[Step] = []
    for step in PLAN:
        if step.name == case.check and case.sabotage is not None:
            sabotage = case.sabotage

            def run_sabotage(run: Run, sabotage: Sabotage = sabotage) -> str:
                sabotage(run, live)
                return "sabotaged"

            # In the check's own service: verify runs each service's checks in order, in a
            # thread of its own, so the sabotage comes right before the check.
            plan.append(Step("sabotage", step.service, run_sabotage, step.needs))
        plan.append(step)
    return plan


@pytest.mark.parametrize("case", CASES, ids=[c.check for c in CASES])
def test_each_check_can_fail_against_the_real_servers(
    case: Case, live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    live.monkeypatch = monkeypatch
    urls = dict(live.stack.urls)
    for key, spec in (case.retarget or {}).items():
        other, suffix = spec.split(":", 1)
        urls[key] = live.stack.urls[other] + suffix
    targets = resolve([("test", {**urls, "DATABASE_URL": live.stack.database_urls["hydra"]})])
    report: Report = verify(targets, timeout=30, plan=_plan_with(case, live))
    checks = {c.name: c for c in report.checks}
    assert checks[case.check].result is Result.failed, checks[case.check]
    assert case.reason in (checks[case.check].reason or ""), checks[case.check].reason
    if "sabotage" in checks:
        assert checks["sabotage"].result is Result.passed, checks["sabotage"].reason
    assert report.exit_code == 1


# -- the Ory versions read their secrets from the environment --------------------------------


@pytest.mark.parametrize(
    ("service", "variable", "message"),
    [
        ("hydra", "SECRETS_SYSTEM", "secrets/system/0"),
        ("kratos", "SECRETS_COOKIE", "secrets/cookie/0"),
        ("kratos", "SECRETS_CIPHER", "secrets/cipher/0"),
    ],
)
def test_secrets_come_from_environment_variables(
    live: Live, service: str, variable: str, message: str
) -> None:
    """A too-short value in the variable is refused: proof the variable is read at all."""
    env: dict[str, Any] = {"PATH": os.environ.get("PATH", ""), "LOG_LEVEL": "error"}
    env |= ory.service_env(live.topology, live.pg, live.layout.ca_cert)[service]
    env[variable] = "short"
    argv = [str(ory.binary(service)), "serve"]
    argv += ["all", "--dev"] if service == "hydra" else ["--dev"]
    argv += ["-c", str(live.stack.workdir / f"{service}.json")]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert message in done.stdout + done.stderr
    assert "minLength" in done.stdout + done.stderr or "length must be" in done.stdout + done.stderr
