"""Read `sandbox.yaml` and `SANDBOX_*` variables into one validated `Settings`.

Precedence, lowest first: embedded defaults, the file, the environment. Errors name the file
(or the variable) and the dotted field, on one line, before anything is touched.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sandbox.config.settings import Settings
from sandbox.errors import BadInput

DEFAULT_FILE = "sandbox.yaml"
ENV_PREFIX = "SANDBOX_"
# SANDBOX_* variables that are command-line globals, not settings.
NOT_SETTINGS = frozenset({"STATE_DIR", "CONFIG", "DEBUG", "OUTPUT"})


def find_config(explicit: Path | None, cwd: Path) -> Path | None:
    """The file given with --config (which must exist), else ./sandbox.yaml if present."""
    if explicit is not None:
        if not explicit.is_file():
            raise BadInput(f"{explicit}: config file not found")
        return explicit
    candidate = cwd / DEFAULT_FILE
    return candidate if candidate.is_file() else None


def read_file(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise BadInput(f"{path}: {where}{exc.problem or exc}") from exc
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BadInput(f"{path}: cannot read: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BadInput(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    return data


def env_overrides(environ: Mapping[str, str]) -> dict[str, tuple[str, Any]]:
    """`SANDBOX_PORTS__SQL=26300` -> {"ports.sql": ("SANDBOX_PORTS__SQL", "26300")}."""
    out: dict[str, tuple[str, Any]] = {}
    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX) or key[len(ENV_PREFIX) :] in NOT_SETTINGS:
            continue
        dotted = ".".join(part.lower() for part in key[len(ENV_PREFIX) :].split("__"))
        value: Any = raw
        if raw.lstrip().startswith("["):
            import yaml

            try:
                value = yaml.safe_load(raw)
            except yaml.YAMLError as exc:
                raise BadInput(f"{key}: not a valid list: {exc}") from exc
        out[dotted] = (key, value)
    return out


def _set_dotted(data: dict[str, Any], dotted: str, value: Any, source: str) -> None:
    node = data
    *parents, leaf = dotted.split(".")
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise BadInput(f"{source}: {part} is not a section of settings")
        node = child
    node[leaf] = value


def _describe(exc: Any) -> tuple[str, str]:
    """First pydantic error as (dotted location, message), plus a count of the others."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in first["loc"])
    loc = loc.replace(".[", "[")
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown setting"
    elif (
        "input" in first
        and first["type"] not in ("missing",)
        and not isinstance(first["input"], dict | list)
    ):
        message = f"{message} (got {first['input']!r})"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return loc, message + more


def _validate(data: dict[str, Any], source: str, env_names: dict[str, str]) -> Settings:
    from pydantic import ValidationError

    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        loc, message = _describe(exc)
        origin = env_names.get(loc, source)
        field = f" {loc}:" if loc else ""
        raise BadInput(f"{origin}:{field} {message}") from None


def load_settings(
    config: Path | None = None,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[Settings, Path | None]:
    """Return the effective settings and the file they came from (None: defaults only)."""
    environ = os.environ if environ is None else environ
    path = find_config(config, cwd or Path.cwd())
    data = read_file(path) if path else {}
    source = str(path) if path else "defaults"
    # Validate the file on its own first, so its errors are blamed on the file.
    _validate(data, source, {})
    overrides = env_overrides(environ)
    if not overrides:
        settings = Settings.model_validate(data)
    else:
        source = "environment"
        for dotted, (name, value) in overrides.items():
            _set_dotted(data, dotted, value, name)
        names = {dotted: name for dotted, (name, _) in overrides.items()}
        settings = _validate(data, source, names)
    _check_model(settings, source)
    return settings, path


def _check_model(settings: Settings, source: str) -> None:
    """What only the model can judge (the engine's and components' caps against the budget),
    blamed on where the settings came from."""
    from sandbox.model.topology import Topology

    try:
        Topology(settings).check_budget()
    except BadInput as exc:
        raise BadInput(f"{source}: {exc.message}") from None
