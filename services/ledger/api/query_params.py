"""Refuse query parameters a route does not declare: a misspelt filter is a 400, not ignored.

One app-wide dependency compares the request's query keys with the query parameters the
matched route declares (its own and its dependencies', by alias), so every route gets
the same check and a new route cannot forget it.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.utils import get_flat_params
from fastapi.params import Query

from ledger.api.problems import ApiProblem

_declared: dict[int, frozenset[str]] = {}


def _names(route: object) -> frozenset[str] | None:
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return None
    key = id(route)
    if key not in _declared:
        _declared[key] = frozenset(
            f.alias for f in get_flat_params(dependant) if isinstance(f.field_info, Query)
        )
    return _declared[key]


async def reject_unknown_query(request: Request) -> None:
    known = _names(request.scope.get("route"))
    if known is None:
        return
    unknown = sorted(set(request.query_params.keys()) - known)
    if unknown:
        accepted = ", ".join(sorted(known)) or "none"
        raise ApiProblem(
            400,
            "unknown-query-parameter",
            "Unknown query parameter",
            f"this route does not take {', '.join(unknown)}; it accepts: {accepted}",
        )
