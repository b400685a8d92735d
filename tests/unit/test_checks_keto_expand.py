"""Expand trees as Keto v0.13 returns them (nested `tuple`) and in the flat older shape."""

from __future__ import annotations

from typing import Any

from sandbox.checks.keto import expand_paths, label

# Recorded from keto v0.13.0-alpha.0 on this machine (doc-1: alice viewer, owners are viewers).
V013 = {
    "type": "union",
    "children": [
        {
            "type": "union",
            "children": [{"type": "leaf", "tuple": {"subject_id": "user:maureen"}}],
            "tuple": {
                "subject_set": {"namespace": "documents", "object": "doc-1", "relation": "owner"}
            },
        },
        {"type": "leaf", "tuple": {"subject_id": "user:alice"}},
    ],
    "tuple": {"subject_set": {"namespace": "documents", "object": "doc-1", "relation": "viewer"}},
}

FLAT: dict[str, Any] = {
    "type": "union",
    "subject_set": {"namespace": "documents", "object": "doc-1", "relation": "viewer"},
    "children": [
        {"type": "leaf", "subject_id": "user:alice"},
        {
            "type": "union",
            "subject_set": {"namespace": "documents", "object": "doc-1", "relation": "owner"},
            "children": [{"type": "leaf", "subject_id": "user:maureen"}],
        },
    ],
}


def test_both_paths_found_in_either_shape() -> None:
    assert expand_paths(V013, "doc-1") == (True, True)
    assert expand_paths(FLAT, "doc-1") == (True, True)


def test_maureen_outside_the_owner_subtree_does_not_count() -> None:
    tree = {
        "type": "union",
        "children": [
            {"type": "leaf", "tuple": {"subject_id": "user:maureen"}},
            {"type": "leaf", "tuple": {"subject_id": "user:alice"}},
        ],
    }
    assert expand_paths(tree, "doc-1") == (True, False)


def test_another_documents_owners_do_not_count() -> None:
    assert expand_paths(V013, "doc-2") == (True, False)


def test_label_forms() -> None:
    assert label({"namespace": "d", "object": "o", "relation": "r", "subject_id": "u"}) == "d:o#r@u"
    subject_set = {"namespace": "d", "object": "o", "relation": "owner"}
    t = {"namespace": "d", "object": "o", "relation": "viewer", "subject_set": subject_set}
    assert label(t) == "d:o#viewer@(d:o#owner)"
