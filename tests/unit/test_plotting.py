"""`--plot` without the `plot` extra: one line before anything runs, naming the extra."""

from __future__ import annotations

import sys

import pytest

from sandbox.errors import BadInput
from sandbox.plotting import require_matplotlib


def test_missing_matplotlib_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import now raises ImportError
    with pytest.raises(BadInput) as caught:
        require_matplotlib()
    assert caught.value.message == "--plot needs matplotlib: pip install 'iam-sandbox[plot]'"


@pytest.mark.parametrize("command", [["load", "keto"], ["chaos", "zone"]])
def test_both_commands_check_before_they_start(
    command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from sandbox.cli import app

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = CliRunner().invoke(app, [*command, "--plot", "out.png"])
    assert isinstance(result.exception, BadInput), result.output
    assert result.exception.message.startswith("--plot needs matplotlib")
