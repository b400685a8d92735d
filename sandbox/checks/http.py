"""What the HTTP checks share: a failure type that carries one clear reason, and response helpers.

A reason names the request and the HTTP status, and quotes the service's own error message,
never a request or response body that could hold a secret.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx


class CheckFailed(Exception):
    """A check's expectation was not met; the message is the one-line reason."""


def _error_message(resp: httpx.Response) -> str:
    """The service's error text: Ory answers `{"error": {...}}` or OAuth2 `error_description`."""
    try:
        data = resp.json()
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    err = data.get("error")
    if isinstance(err, dict):
        parts = [err.get("message"), err.get("reason")]
        return ": ".join(str(p) for p in parts if p)
    if isinstance(err, str):
        return f"{err}: {data.get('error_description', '')}".rstrip(": ")
    messages = data.get("ui", {}).get("messages") if isinstance(data.get("ui"), dict) else None
    if messages:
        return "; ".join(str(m.get("text", "")) for m in messages if isinstance(m, dict))
    return ""


def describe(resp: httpx.Response) -> str:
    """`HTTP 401 from POST /oauth2/token: invalid_client: ...` (the path only, no query)."""
    req = resp.request
    message = _error_message(resp)
    text = f"HTTP {resp.status_code} from {req.method} {req.url.path}"
    return f"{text}: {message[:200]}" if message else text


def expect(resp: httpx.Response, *statuses: int) -> httpx.Response:
    if resp.status_code not in statuses:
        wanted = " or ".join(str(s) for s in statuses)
        raise CheckFailed(f"{describe(resp)} (expected {wanted})")
    return resp


def json_object(resp: httpx.Response) -> dict[str, Any]:
    try:
        data = resp.json()
    except ValueError:
        raise CheckFailed(f"{describe(resp)}: the body is not JSON") from None
    if not isinstance(data, dict):
        raise CheckFailed(f"{describe(resp)}: expected a JSON object")
    return data


def field(data: dict[str, Any], key: str, what: str) -> Any:
    if key not in data or data[key] in (None, ""):
        raise CheckFailed(f"{what}: the response has no {key!r}")
    return data[key]
