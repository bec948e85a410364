"""Which open grants a donor has with a school: what an import needs to decide which grant
a bank transfer from the donor to the school was paid against."""

from __future__ import annotations

from projections.listing import GrantFilter, grant_page
from projections.service import ProjectionLagging, ReadSide

GrantKey = tuple[str, str, str]  # donor, school, currency

# More than this many open grants between one donor and one school is already "more than
# one": the import asks for a decision and names a few of them.
_ENOUGH = 10


async def open_grants(read_side: ReadSide, keys: set[GrantKey]) -> dict[GrantKey, list[str]]:
    """Per (donor, school, currency): the ids of the grants with an undisbursed commitment."""
    try:
        return await _open_grants(read_side, keys, None)
    except ProjectionLagging:
        # The read models are behind the log (a busy import just before this one): take them
        # as they are. A grant they do not show yet makes a line wait for a decision; one
        # they show open that no longer is gets its disbursement refused by the grant
        # itself. Neither records anything wrong.
        return await _open_grants(read_side, keys, 0)


async def _open_grants(
    read_side: ReadSide, keys: set[GrantKey], min_position: int | None
) -> dict[GrantKey, list[str]]:
    found: dict[GrantKey, list[str]] = {}
    async with read_side.read(min_position) as r:
        for donor, school, currency in sorted(keys):
            rows = await grant_page(
                r.conn,
                r.tables,
                GrantFilter(school=school, donor=donor, status="open", limit=_ENOUGH),
            )
            found[donor, school, currency] = [
                row["grant_id"] for row in rows if row["currency"] == currency
            ]
    return found
