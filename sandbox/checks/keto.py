"""Keto: write tuples, check allowed, check denied (403 is the answer, not an error), a subject
set (owners of a document are its viewers), and expand showing both paths."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sandbox.checks.http import CheckFailed, describe, expect, json_object
from sandbox.checks.run import Run

SERVICE = "keto"
NAMESPACE = "documents"


def tuples(run: Run) -> list[dict[str, Any]]:
    """viewer@user:alice; viewer@(documents:doc#owner); owner@user:maureen."""
    doc = {"namespace": NAMESPACE, "object": run.document}
    owners = {**doc, "relation": "owner"}
    return [
        {**doc, "relation": "viewer", "subject_id": "user:alice"},
        {**doc, "relation": "viewer", "subject_set": owners},
        {**owners, "subject_id": "user:maureen"},
    ]


def label(t: dict[str, Any]) -> str:
    """`documents:doc-x#viewer@user:alice` or `...@(documents:doc-x#owner)`."""
    subject = t.get("subject_id")
    if subject is None:
        s = t["subject_set"]
        subject = f"({s['namespace']}:{s['object']}#{s['relation']})"
    return f"{t['namespace']}:{t['object']}#{t['relation']}@{subject}"


def write(run: Run) -> str:
    for t in tuples(run):
        resp = run.http.put(run.url("KETO_WRITE_REMOTE", "/admin/relation-tuples"), json=t)
        try:
            expect(resp, 201)
        except CheckFailed as exc:
            raise CheckFailed(f"{label(t)}: {exc}") from None
    run.facts["tuples"] = tuples(run)
    return f"{len(tuples(run))} tuples"


def _check(run: Run, subject: str, relation: str = "viewer") -> bool:
    """Keto's answer: 200 allowed=true, 403 allowed=false; anything else fails the check."""
    params = {
        "namespace": NAMESPACE,
        "object": run.document,
        "relation": relation,
        "subject_id": subject,
    }
    resp = run.http.get(run.url("KETO_READ_REMOTE", "/relation-tuples/check"), params=params)
    data = json_object(expect(resp, 200, 403))
    allowed = data.get("allowed")
    if not isinstance(allowed, bool) or allowed != (resp.status_code == 200):
        raise CheckFailed(f"{describe(resp)} with allowed={allowed!r}: inconsistent answer")
    return allowed


def alice_allowed(run: Run) -> str:
    if not _check(run, "user:alice"):
        raise CheckFailed(f"user:alice is denied viewer on {run.document} (HTTP 403)")
    return "allowed (HTTP 200)"


def bob_denied(run: Run) -> str:
    if _check(run, "user:bob"):
        raise CheckFailed(f"user:bob is ALLOWED viewer on {run.document} (HTTP 200)")
    return "denied (HTTP 403, as expected)"


def maureen_via_owner(run: Run) -> str:
    if not _check(run, "user:maureen"):
        raise CheckFailed(f"user:maureen (owner) is denied viewer on {run.document} (HTTP 403)")
    return "allowed through owner"


def _nodes(tree: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield tree
    for child in tree.get("children") or []:
        if isinstance(child, dict):
            yield from _nodes(child)


def _subject(node: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    """(subject_id, subject_set) of a node; newer Keto nests them under `tuple`."""
    inner = node.get("tuple")
    if not isinstance(inner, dict):
        inner = node
    return inner.get("subject_id"), inner.get("subject_set")


def expand_paths(tree: dict[str, Any], document: str) -> tuple[bool, bool]:
    """(alice is a direct viewer, maureen is a viewer through documents:<doc>#owner)."""
    direct = any(_subject(n)[0] == "user:alice" for n in _nodes(tree))
    through_owner = False
    for node in _nodes(tree):
        _, subject_set = _subject(node)
        if (
            subject_set
            and subject_set.get("object") == document
            and subject_set.get("relation") == "owner"
        ):
            through_owner = any(_subject(n)[0] == "user:maureen" for n in _nodes(node))
            if through_owner:
                break
    return direct, through_owner


def expand(run: Run) -> str:
    params: dict[str, str | int] = {
        "namespace": NAMESPACE,
        "object": run.document,
        "relation": "viewer",
        "max-depth": 3,
    }
    resp = run.http.get(run.url("KETO_READ_REMOTE", "/relation-tuples/expand"), params=params)
    direct, through_owner = expand_paths(json_object(expect(resp, 200)), run.document)
    missing = [
        what
        for what, ok in (
            ("user:alice directly", direct),
            ("user:maureen via #owner", through_owner),
        )
        if not ok
    ]
    if missing:
        raise CheckFailed(f"expand of viewer lacks {' and '.join(missing)}")
    return "user:alice directly, user:maureen via owner"
