"""Reading a request's input at the edge: the errors a client gets, and a body as JSON.

Plain functions over plain values (no event, no framework): each returns the validated
input or raises `ClientError` with the status and a message that says what is wrong and
what is allowed. A model's routes validate their own parameters with these.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

MAX_BODY_BYTES = 1_000_000  # 1 MB, after base64 decoding


class ClientError(Exception):
    """Input the API cannot answer: answered with `status` and {"error": message}."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def show(value: str, limit: int = 40) -> str:
    """A client-supplied value, quoted and shortened, for an error message."""
    return repr(value if len(value) <= limit else value[:limit] + "...")


def body_text(
    body: Any,
    *,
    base64_encoded: bool,
    expected: str,
    max_bytes: int = MAX_BODY_BYTES,
    too_large_hint: str = "",
) -> str:
    """The request body as text, within `max_bytes` (API Gateway base64-encodes bodies it
    does not consider text). `expected` describes the body the route takes, for messages."""
    if body is None or body == "":
        raise ClientError(400, f"the request body is empty; expected {expected}")
    if not isinstance(body, str):
        raise ClientError(400, f"the request body is malformed; expected {expected}")
    too_large = ClientError(
        413,
        f"the request body is over {max_bytes:,} bytes" + (f"; {too_large_hint}" if too_large_hint else ""),
    )
    if not base64_encoded:
        if len(body) > max_bytes or (
            not body.isascii() and len(body.encode("utf-8", "surrogatepass")) > max_bytes
        ):
            raise too_large
        return body
    if len(body) > 4 * (max_bytes // 3 + 1):
        raise too_large
    try:
        data = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise ClientError(400, "the request body is marked base64-encoded but is not valid base64") from None
    if len(data) > max_bytes:
        raise too_large
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ClientError(400, f"the request body is not UTF-8 text; expected {expected}") from None


def json_document(text: str, *, expected: str) -> Any:
    """Parse JSON text strictly (no NaN or Infinity); `expected` as for body_text."""
    expected = f"expected {expected}"
    if not text.strip():
        raise ClientError(400, f"the request body is empty; {expected}")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ClientError(
            400,
            f"the request body is not valid JSON ({exc.msg} at line {exc.lineno} "
            f"column {exc.colno}); {expected}",
        ) from None
    except ValueError as exc:  # NaN, Infinity, or an integer longer than Python converts
        if "digits" in str(exc):
            raise ClientError(400, f"a number in the request body has too many digits; {expected}") from None
        raise ClientError(400, f"the request body is not valid JSON ({exc}); {expected}") from None
    except RecursionError:
        raise ClientError(400, f"the request body is nested too deeply; {expected}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def describe(value: Any) -> str:
    """A parsed JSON value, briefly, for an error message."""
    if isinstance(value, list):
        return f"a JSON array of {len(value)} item{'' if len(value) == 1 else 's'}"
    if isinstance(value, dict):
        return f"a JSON object with {len(value)} key{'' if len(value) == 1 else 's'}"
    return show(json.dumps(value))


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
