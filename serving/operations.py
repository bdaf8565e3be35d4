"""What a route says of itself in the API's OpenAPI document (serving.openapi builds it).

A model package marks each route of its ROUTES with `@described(describe)`, where
`describe(model)` returns the route's OpenAPI 3.1 Operation Object: its parameters,
request body and answers. In `responses`, an answer given as a plain string is an error
answer: its description, with the platform's `{"error": ...}` body. The platform adds the
rest (the 500, the `X-Model-Version` header, OPTIONS, GET /health, GET /openapi.json).

This module only attaches: `describe` is called when the document is first asked for,
never at import or INIT, so describing a route costs a cold start nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Describe = Callable[[Any], dict]
_ATTRIBUTE = "openapi_operation"


def described(describe: Describe) -> Callable[[Callable], Callable]:
    """Mark a route with `describe(model) -> OpenAPI Operation Object`."""

    def mark(route: Callable) -> Callable:
        setattr(route, _ATTRIBUTE, describe)
        return route

    return mark


def operation_of(route: Callable, model: Any) -> dict:
    """The route's Operation Object for `model` ({"responses": {}} for an undescribed route)."""
    describe = getattr(route, _ATTRIBUTE, None)
    return describe(model) if describe is not None else {"responses": {}}
