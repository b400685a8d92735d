"""The flags that point a command at the services, shared by `verify` and `load`.

One `--<component>-<port>-url` flag per port of the component catalog, so a new component
brings its flags with it. Each overrides the integration guide's variable of the same meaning
(named in its help), which in turn overrides what the state folder says (see
`sandbox.cli.verify.resolve_targets`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any

import typer

from sandbox.model.catalog import CATALOG

ENDPOINTS = "endpoints"
"""The parameter of a decorated command that receives the flags: {URL variable: value}."""


def _flags() -> list[tuple[str, str, Any]]:
    """(parameter name, URL variable, annotation) for every catalog port, in catalog order."""
    out = []
    for component in CATALOG:
        for port in component.ports:
            flag = f"--{component.name}-{port.name}-url"
            text = f"{component.name.capitalize()} {port.name} API ({port.url_var})."
            annotation = Annotated[str | None, typer.Option(flag, help=text)]
            out.append((f"{component.name}_{port.name}_url", port.url_var, annotation))
    return out


def with_endpoint_flags(command: Callable[..., None]) -> Callable[..., None]:
    """Give `command` the endpoint flags; it receives them as `endpoints`."""
    flags = _flags()
    signature = inspect.signature(command, eval_str=True)  # typer reads real annotations
    kept = [p for p in signature.parameters.values() if p.name != ENDPOINTS]
    added = [
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=a)
        for name, _, a in flags
    ]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        endpoints = {var: kwargs.pop(name, None) for name, var, _ in flags}
        command(*args, **kwargs, **{ENDPOINTS: endpoints})

    annotations = {k: v for k, v in command.__annotations__.items() if k != ENDPOINTS}
    wrapper.__annotations__ = {**annotations, **{name: a for name, _, a in flags}}
    wrapper.__signature__ = signature.replace(parameters=[*kept, *added])  # type: ignore[attr-defined]
    return wrapper
