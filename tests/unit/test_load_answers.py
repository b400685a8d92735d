"""Right from wrong: the answer checks of every workload, on hand-written responses."""

from __future__ import annotations

import random

import pytest

from sandbox.load.ops import WrongAnswer
from sandbox.load.workloads import (
    check_client,
    check_introspection,
    check_keto,
    check_registration,
    check_token,
    check_whoami,
    entity_name,
    traits_for,
)

TRAITS = {"email": "ada.turing.load-r1-0-1@example.org", "name": {"first": "Ada", "last": "Turing"}}


def test_names_carry_the_run_id() -> None:
    assert entity_name("ab12", 1, 7) == "load-ab12-1-7"
    traits = traits_for("load-ab12-1-7", random.Random(3))
    assert traits["email"].endswith(".load-ab12-1-7@example.org")
    assert traits["email"] == traits["email"].lower()
    assert set(traits["name"]) == {"first", "last"}


def test_keto_answers() -> None:
    assert check_keto(200, {"allowed": True}, must_allow=True) is True
    assert check_keto(403, {"allowed": False}, must_allow=False) is False
    with pytest.raises(WrongAnswer, match="allowed a subject that was never granted"):
        check_keto(200, {"allowed": True}, must_allow=False)
    with pytest.raises(WrongAnswer, match="denied a tuple that was written"):
        check_keto(403, {"allowed": False}, must_allow=True)
    with pytest.raises(WrongAnswer, match="HTTP 200 with allowed=False"):
        check_keto(200, {"allowed": False}, must_allow=False)
    with pytest.raises(WrongAnswer, match="HTTP 403 with allowed=None"):
        check_keto(403, {}, must_allow=False)


def test_hydra_answers() -> None:
    data = {"client_id": "c1", "client_secret": "s", "client_name": "sandbox-load-r-0-1"}
    assert check_client(data, "sandbox-load-r-0-1") == ("c1", "s")
    with pytest.raises(WrongAnswer, match="client_name"):
        check_client(data, "sandbox-load-r-0-2")
    opaque = {"access_token": "ory_at_abc.def", "token_type": "bearer"}
    jwt = {"access_token": "eyJh.eyJz.sig", "token_type": "bearer"}
    assert check_token(opaque, "opaque") == "ory_at_abc.def"
    assert check_token(jwt, "jwt") == "eyJh.eyJz.sig"
    with pytest.raises(WrongAnswer, match="asked for a jwt access token, got an opaque token"):
        check_token(opaque, "jwt")
    with pytest.raises(WrongAnswer, match="asked for a opaque access token, got a JWT"):
        check_token(jwt, "opaque")
    check_introspection({"active": True, "client_id": "c1"}, "c1")
    with pytest.raises(WrongAnswer, match="active=False"):
        check_introspection({"active": False}, "c1")
    with pytest.raises(WrongAnswer, match="client_id 'c2'"):
        check_introspection({"active": True, "client_id": "c2"}, "c1")


def test_kratos_answers() -> None:
    reg = {"session_token": "t", "identity": {"id": "i1", "traits": TRAITS}}
    assert check_registration(reg, TRAITS) == ("i1", "t")
    with pytest.raises(WrongAnswer, match="no identity or no session_token"):
        check_registration({"identity": {"id": "i1", "traits": TRAITS}}, TRAITS)
    session = {"active": True, "identity": {"id": "i1", "traits": TRAITS}}
    check_whoami(session, "i1", TRAITS)
    with pytest.raises(WrongAnswer, match="identity 'i1', expected 'i2'"):
        check_whoami(session, "i2", TRAITS)
    other = {**TRAITS, "name": {"first": "Grace", "last": "Turing"}}
    with pytest.raises(WrongAnswer, match="traits differ"):
        check_whoami(session, "i1", other)
    with pytest.raises(WrongAnswer, match="not active"):
        check_whoami({**session, "active": False}, "i1", TRAITS)
