"""The three workloads: what is written, what is read back, and what a right answer is.

Each workload keeps the entities its process created (for reads, the report and `--cleanup`).
Names carry the run id (`load-<run>-<process>-<n>`), so runs never collide and every row of a
run can be found, counted and removed. The `check_*` functions decide right from wrong and are
pure; the rest only moves bytes.
"""

from __future__ import annotations

import random
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urlencode

from sandbox.load.http import Client, obj
from sandbox.load.ops import Kind, Op, WrongAnswer

if TYPE_CHECKING:
    from yarl import URL

SERVICES = ("hydra", "kratos", "keto")
KETO_NAMESPACE = "documents"
KETO_RELATION = "viewer"

HYDRA_CLIENT_CREATE = Op("hydra.client.create", Kind.write)
HYDRA_TOKEN_ISSUE = Op("hydra.token.issue", Kind.write)
HYDRA_INTROSPECT = Op("hydra.token.introspect", Kind.read)
KRATOS_REGISTER = Op("kratos.register", Kind.write)
KRATOS_WHOAMI = Op("kratos.whoami", Kind.read)
KRATOS_IDENTITY_GET = Op("kratos.identity.get", Kind.read)
KETO_TUPLE_WRITE = Op("keto.tuple.write", Kind.write)
KETO_CHECK_ALLOWED = Op("keto.check.allowed", Kind.read)
KETO_CHECK_DENIED = Op("keto.check.denied", Kind.read, positive=False)

OPS: dict[str, tuple[Op, ...]] = {
    "hydra": (HYDRA_CLIENT_CREATE, HYDRA_TOKEN_ISSUE, HYDRA_INTROSPECT),
    "kratos": (KRATOS_REGISTER, KRATOS_WHOAMI, KRATOS_IDENTITY_GET),
    "keto": (KETO_TUPLE_WRITE, KETO_CHECK_ALLOWED, KETO_CHECK_DENIED),
}

FIRST_NAMES = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken")
LAST_NAMES = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson")


class Recorder(Protocol):
    def now(self) -> float: ...

    async def attempt(self, op: Op, due: float, call: Callable[[], Awaitable[bool]]) -> bool: ...


def entity_name(run_id: str, shard: int, n: int) -> str:
    return f"load-{run_id}-{shard}-{n}"


# -- answers ------------------------------------------------------------------------------------


def check_client(data: dict[str, Any], name: str) -> tuple[str, str]:
    """(client_id, client_secret) of a client just created as `name`."""
    cid, secret = data.get("client_id"), data.get("client_secret")
    if not cid or not secret:
        raise WrongAnswer("client create: no client_id or client_secret")
    if data.get("client_name") != name:
        raise WrongAnswer(f"client create: client_name {data.get('client_name')!r} != {name!r}")
    return str(cid), str(secret)


def check_token(data: dict[str, Any], strategy: str) -> str:
    """The access token, of the kind asked for (a JWT has three dot-separated parts)."""
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise WrongAnswer("token: no access_token")
    if str(data.get("token_type", "")).lower() != "bearer":
        raise WrongAnswer(f"token: token_type {data.get('token_type')!r}, expected bearer")
    is_jwt = token.count(".") == 2 and token.startswith("ey")
    if is_jwt != (strategy == "jwt"):
        got = "a JWT" if is_jwt else "an opaque token"
        raise WrongAnswer(f"token: asked for a {strategy} access token, got {got}")
    return token


def check_introspection(data: dict[str, Any], client_id: str) -> None:
    if data.get("active") is not True:
        raise WrongAnswer(f"introspect: active={data.get('active')!r} for a token just issued")
    if data.get("client_id") != client_id:
        raise WrongAnswer(
            f"introspect: client_id {data.get('client_id')!r}, the token is {client_id!r}'s"
        )


def traits_for(name: str, rng: random.Random) -> dict[str, Any]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    return {
        "email": f"{first}.{last}.{name}@example.org".lower(),
        "name": {"first": first, "last": last},
    }


def _identity(data: dict[str, Any]) -> dict[str, Any]:
    ident = data.get("identity")
    if not isinstance(ident, dict):
        session = data.get("session")
        ident = session.get("identity") if isinstance(session, dict) else None
    return ident if isinstance(ident, dict) else {}


def check_registration(data: dict[str, Any], traits: dict[str, Any]) -> tuple[str, str]:
    """(identity id, session token) of a registration with the session hook."""
    ident = _identity(data)
    token = data.get("session_token")
    if not ident.get("id") or not token:
        raise WrongAnswer("registration: no identity or no session_token")
    if ident.get("traits") != traits:
        raise WrongAnswer("registration: the identity has other traits than were sent")
    return str(ident["id"]), str(token)


def check_identity(
    ident: dict[str, Any], identity_id: str, traits: dict[str, Any], what: str
) -> None:
    if ident.get("id") != identity_id:
        raise WrongAnswer(f"{what}: identity {ident.get('id')!r}, expected {identity_id!r}")
    if ident.get("traits") != traits:
        raise WrongAnswer(f"{what}: the traits differ from the registered ones")


def check_whoami(data: dict[str, Any], identity_id: str, traits: dict[str, Any]) -> None:
    check_identity(_identity(data), identity_id, traits, "whoami")
    if data.get("active") is not True:
        raise WrongAnswer("whoami: the session is not active")


def check_keto(status: int, data: dict[str, Any], must_allow: bool) -> bool:
    """Keto's answer: 200 allowed=true or 403 allowed=false, and it must be the right one."""
    allowed = data.get("allowed")
    if allowed is not (status == 200):
        raise WrongAnswer(f"check: HTTP {status} with allowed={allowed!r}")
    if allowed and not must_allow:
        raise WrongAnswer("check: allowed a subject that was never granted")
    if not allowed and must_allow:
        raise WrongAnswer("check: denied a tuple that was written")
    return allowed


# -- workloads ----------------------------------------------------------------------------------


class Workload:
    service: str = ""

    def __init__(
        self,
        http: Client,
        urls: dict[str, str],
        run_id: str,
        shard: int,
        *,
        deny_share: float = 0.0,
        hydra_token: str = "opaque",
        seed: int | None = None,
    ) -> None:
        self.http = http
        self.urls = {k: v.rstrip("/") for k, v in urls.items()}
        self.run_id = run_id
        self.shard = shard
        self.deny_share = deny_share
        self.hydra_token = hydra_token
        self.rng = random.Random(seed)
        self.created: Counter[str] = Counter()
        self._n = 0

    def next_name(self) -> str:
        self._n += 1
        return entity_name(self.run_id, self.shard, self._n)

    def url(self, key: str, path: str) -> URL:
        from yarl import URL

        return URL(self.urls[key] + path, encoded=True)

    def has_entities(self) -> bool:
        raise NotImplementedError

    async def write(self, rec: Recorder, due: float) -> None:
        raise NotImplementedError

    async def read(self, rec: Recorder, due: float, denied: bool) -> None:
        raise NotImplementedError

    async def cleanup(self) -> int:
        """Remove what this process created; returns how many entities went."""
        raise NotImplementedError


class Hydra(Workload):
    service = "hydra"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clients: list[str] = []
        self.tokens: list[tuple[str, str]] = []  # (token, client_id); never printed
        self._clients = self.url("HYDRA_ADMIN_URL", "/admin/clients")
        self._token = self.url("HYDRA_PUBLIC_URL", "/oauth2/token")
        self._introspect = self.url("HYDRA_ADMIN_URL", "/admin/oauth2/introspect")

    def has_entities(self) -> bool:
        return bool(self.tokens)

    async def write(self, rec: Recorder, due: float) -> None:
        name = f"sandbox-{self.next_name()}"
        client: list[tuple[str, str]] = []

        async def create() -> bool:
            body = {
                "client_name": name,
                "grant_types": ["client_credentials"],
                "response_types": ["token"],
                "token_endpoint_auth_method": "client_secret_basic",
                "access_token_strategy": self.hydra_token,
            }
            _, raw = await self.http.call("POST", self._clients, (201,), body=body)
            cid, secret = check_client(obj(raw, "client create"), name)
            self.clients.append(cid)
            self.created["hydra.clients"] += 1
            client.append((cid, secret))
            return True

        if not await rec.attempt(HYDRA_CLIENT_CREATE, due, create):
            return
        cid, secret = client[0]

        async def issue() -> bool:
            form = {"grant_type": "client_credentials"}
            _, raw = await self.http.call(
                "POST", self._token, (200,), form=form, auth=(cid, secret)
            )
            token = check_token(obj(raw, "token"), self.hydra_token)
            self.tokens.append((token, cid))
            self.created["hydra.tokens"] += 1
            return True

        await rec.attempt(HYDRA_TOKEN_ISSUE, rec.now(), issue)

    async def read(self, rec: Recorder, due: float, denied: bool) -> None:
        token, cid = self.rng.choice(self.tokens)

        async def introspect() -> bool:
            _, raw = await self.http.call("POST", self._introspect, (200,), form={"token": token})
            check_introspection(obj(raw, "introspect"), cid)
            return True

        await rec.attempt(HYDRA_INTROSPECT, due, introspect)

    async def cleanup(self) -> int:
        removed = 0
        for cid in self.clients:  # Hydra deletes a client's tokens with it
            url = self.url("HYDRA_ADMIN_URL", f"/admin/clients/{quote(cid, safe='')}")
            await self.http.call("DELETE", url, (204, 404))
            removed += 1
        return removed


class Kratos(Workload):
    service = "kratos"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.identities: list[tuple[str, str, dict[str, Any]]] = []  # (id, session token, traits)
        self._flow = self.url("KRATOS_PUBLIC_URL", "/self-service/registration/api")
        self._whoami = self.url("KRATOS_PUBLIC_URL", "/sessions/whoami")
        self._reads = 0

    def has_entities(self) -> bool:
        return bool(self.identities)

    async def write(self, rec: Recorder, due: float) -> None:
        name = self.next_name()
        traits = traits_for(name, self.rng)
        password = f"{secrets.token_urlsafe(18)}-Lq7!"  # never printed, never kept

        async def register() -> bool:
            _, raw = await self.http.call("GET", self._flow, (200,))
            flow = obj(raw, "registration flow").get("id")
            if not flow:
                raise WrongAnswer("registration flow: no id")
            url = self.url(
                "KRATOS_PUBLIC_URL", "/self-service/registration?" + urlencode({"flow": flow})
            )
            body = {"method": "password", "password": password, "traits": traits}
            _, raw = await self.http.call("POST", url, (200,), body=body)
            ident, token = check_registration(obj(raw, "registration"), traits)
            self.identities.append((ident, token, traits))
            self.created["kratos.identities"] += 1
            return True

        await rec.attempt(KRATOS_REGISTER, due, register)

    async def read(self, rec: Recorder, due: float, denied: bool) -> None:
        ident, token, traits = self.rng.choice(self.identities)
        self._reads += 1
        if self._reads % 2:

            async def whoami() -> bool:
                headers = {"X-Session-Token": token}
                _, raw = await self.http.call("GET", self._whoami, (200,), headers=headers)
                check_whoami(obj(raw, "whoami"), ident, traits)
                return True

            await rec.attempt(KRATOS_WHOAMI, due, whoami)
            return

        async def lookup() -> bool:
            url = self.url("KRATOS_ADMIN_URL", f"/admin/identities/{quote(ident, safe='')}")
            _, raw = await self.http.call("GET", url, (200,))
            check_identity(obj(raw, "identity"), ident, traits, "identity lookup")
            return True

        await rec.attempt(KRATOS_IDENTITY_GET, due, lookup)

    async def cleanup(self) -> int:
        for ident, _, _ in self.identities:  # sessions and credentials go with the identity
            url = self.url("KRATOS_ADMIN_URL", f"/admin/identities/{quote(ident, safe='')}")
            await self.http.call("DELETE", url, (204, 404))
        return len(self.identities)


class Keto(Workload):
    service = "keto"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tuples: list[tuple[dict[str, str], URL, URL]] = []  # (tuple, allow URL, deny URL)
        self._write = self.url("KETO_WRITE_REMOTE", "/admin/relation-tuples")

    def has_entities(self) -> bool:
        return bool(self.tuples)

    def _check_url(self, t: dict[str, str], subject: str) -> URL:
        query = {**{k: t[k] for k in ("namespace", "object", "relation")}, "subject_id": subject}
        return self.url("KETO_READ_REMOTE", "/relation-tuples/check?" + urlencode(query))

    async def write(self, rec: Recorder, due: float) -> None:
        name = self.next_name()
        t = {
            "namespace": KETO_NAMESPACE,
            "object": name,
            "relation": KETO_RELATION,
            "subject_id": f"user:{name}",
        }

        async def put() -> bool:
            await self.http.call("PUT", self._write, (201,), body=t)
            nobody = f"user:load-{self.run_id}-nobody"
            self.tuples.append((t, self._check_url(t, t["subject_id"]), self._check_url(t, nobody)))
            self.created["keto.tuples"] += 1
            return True

        await rec.attempt(KETO_TUPLE_WRITE, due, put)

    async def read(self, rec: Recorder, due: float, denied: bool) -> None:
        _, allow_url, deny_url = self.rng.choice(self.tuples)
        url, op = (deny_url, KETO_CHECK_DENIED) if denied else (allow_url, KETO_CHECK_ALLOWED)

        async def check() -> bool:
            status, raw = await self.http.call("GET", url, (200, 403))
            check_keto(status, obj(raw, "check"), must_allow=not denied)
            return True

        await rec.attempt(op, due, check)

    async def cleanup(self) -> int:
        for t, _, _ in self.tuples:
            url = self.url("KETO_WRITE_REMOTE", "/admin/relation-tuples?" + urlencode(t))
            await self.http.call("DELETE", url, (204, 404))
        return len(self.tuples)


WORKLOADS: dict[str, type[Workload]] = {"hydra": Hydra, "kratos": Kratos, "keto": Keto}
