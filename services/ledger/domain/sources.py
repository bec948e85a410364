"""Where an entry's money came from: the grant or programme a school's spending or an
in-kind gift to a school may name, so its programme figures need not be inferred.

What is recorded is the named grant's id and the programme it is spent under (a named
programme, or the named grant's own, which never changes once committed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ledger.domain.errors import InvalidValue

if TYPE_CHECKING:
    from ledger.domain.grant import Grant
    from ledger.domain.registry import Programme


def spent_from(
    school: str | None, grant: Grant | None, programme: Programme | None
) -> dict[str, Any]:
    """``from_grant`` and ``from_programme`` of an entry of ``school``."""
    if grant is not None and programme is not None:
        raise InvalidValue("name the grant or the programme the money came from, not both")
    if (grant is not None or programme is not None) and school is None:
        raise InvalidValue(
            "only an entry of a school names the grant or programme it came from; "
            "in kind given to a programme counts under that programme"
        )
    if grant is not None:
        if grant.school != school:
            raise InvalidValue(
                f"grant {grant.id} is a grant to school {grant.school!r}, not {school!r}"
            )
        return {"from_grant": str(grant.id), "from_programme": grant.programme}
    return {"from_grant": None, "from_programme": programme.code if programme else None}


def upcast_naming_no_source(state: dict[str, Any]) -> None:
    """An entry event stored before entries could name their source names none."""
    state["from_grant"] = state["from_programme"] = None
