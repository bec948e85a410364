"""IATI 2.03 activity XML: one activity per programme, one transaction per entry.

Transaction types (IATI TransactionType): commitment and reduction -> 2 Outgoing
Commitment, disbursement -> 3 Disbursement, school expenditure and operating cost ->
4 Expenditure, in kind -> 4 Expenditure with aid-type D02 (other technical assistance)
and finance-type 110 (standard grant: cash or in kind), the donor bearing the cost.
Reductions and reversals are *negative* values of the type they correct, so every
type's sum equals the ledger's net figure (IATI allows negative commitments and
disbursements for corrections); nothing is omitted, so an auditor can pair each
reversal with its original through the entry ids in the descriptions.

An entry without a programme of its own or a named source (a school's spending, in
kind to a school) is placed by the read side's one attribution rule
(``projections.attribution``), evaluated within the export's cut: the programme of
the school's grants when they all name one, else the "unattributed" activity, so
every entry is reported exactly once and each activity sums to the programme figures
of ``/v1/balances/programmes``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from sqlalchemy import ColumnElement, and_, func, or_, select

from ledger.domain.errors import DomainError
from ledger.domain.registry import UNATTRIBUTED
from projections.attribution import attributed, school_programmes
from projections.exports.money import decimal_text
from projections.exports.source import Snapshot, effective_kind, entry_pages, registry_names

IATI_VERSION = "2.03"
# The operator's organisation identifier. A placeholder until the operator registers
# one with an IATI registration agency; every other ref here derives from it.
REPORTING_ORG = "XI-IATI-HUBLEDGER"
REPORTING_ORG_NAME = "Hub-school programme operator"

TRANSACTION_TYPE = {
    "commitment": "2", "reduction": "2", "disbursement": "3",
    "expenditure": "4", "operating-cost": "4", "in-kind": "4",
}  # fmt: skip
# Corrections are reported as negative values of the type they correct.
SIGN = {"reduction": -1}
IN_KIND_AID_TYPE = "D02"
STANDARD_GRANT = "110"


def _narrative(text: str) -> str:
    return f"<narrative>{escape(text)}</narrative>"


def transaction_value(entry: dict[str, Any]) -> tuple[str, int]:
    """(IATI transaction type code, signed amount in minor units) of an entry."""
    kind = effective_kind(entry)
    sign = SIGN.get(kind, 1)
    if entry["kind"] == "reversal":
        sign = -sign
    return TRANSACTION_TYPE[kind], sign * int(entry["amount"])


def _org(tag: str, ref: str, name: str, **attrs: str) -> str:
    extra = "".join(f" {k}={quoteattr(v)}" for k, v in attrs.items())
    return f"<{tag} ref={quoteattr(ref)}{extra}>{_narrative(name)}</{tag}>"


def transaction(entry: dict[str, Any], names: dict[str, dict[str, str]]) -> str:
    code, amount = transaction_value(entry)
    day, currency = entry["value_date"].isoformat(), entry["currency"]
    kind = effective_kind(entry)
    text = f"{entry['kind']} entry {entry['entry_id']} at log position {entry['position']}"
    if entry["reference"]:
        text += f", reference {entry['reference']}"
    if entry["reverses"]:
        text += f", reverses entry {entry['reverses']}"
    parts = [
        "<transaction>",
        f'<transaction-type code="{code}"/>',
        f'<transaction-date iso-date="{day}"/>',
        f'<value currency="{currency}" value-date="{day}">{decimal_text(amount, currency)}</value>',
        f"<description>{_narrative(text)}</description>",
    ]
    donor, school = entry["donor"], entry["school"]
    if donor:
        name = names["donors"].get(donor, donor)
        parts.append(_org("provider-org", f"{REPORTING_ORG}-donor-{donor}", name))
    if school:
        name = names["schools"].get(school, school)
        parts.append(_org("receiver-org", f"{REPORTING_ORG}-school-{school}", name))
    elif kind == "operating-cost":
        parts.append(_org("receiver-org", REPORTING_ORG, REPORTING_ORG_NAME))
    if kind == "in-kind":
        parts.append(f'<finance-type code="{STANDARD_GRANT}"/>')
        parts.append(f'<aid-type code="{IN_KIND_AID_TYPE}" vocabulary="1"/>')
    parts.append("</transaction>")
    return "".join(parts) + "\n"


async def _school_programmes(snap: Snapshot) -> dict[str, str]:
    return await school_programmes(snap.conn, snap.tables, snap.cut, snap.at)


def _activity_where(snap: Snapshot, key: str, mapping: dict[str, str]) -> ColumnElement[bool]:
    e = snap.tables.entries
    if key == UNATTRIBUTED:
        # Unnamed entries the rule leaves unplaced, and those spent from a grant under none.
        unplaced = or_(e.c.school.is_(None), e.c.school.not_in(list(mapping)))
        return or_(e.c.programme == UNATTRIBUTED, and_(e.c.programme.is_(None), unplaced))
    schools = [school for school, programme in mapping.items() if programme == key]
    return or_(e.c.programme == key, and_(e.c.programme.is_(None), e.c.school.in_(schools)))


async def _activities(snap: Snapshot, mapping: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each activity's first value date and funding donors (grouped, not per entry)."""
    e = snap.tables.entries
    stmt = (
        select(e.c.programme, e.c.school, e.c.donor, func.min(e.c.value_date))
        .where(snap.entry_filter())
        .group_by(e.c.programme, e.c.school, e.c.donor)
    )
    activities: dict[str, dict[str, Any]] = {}
    for programme, school, donor, first in (await snap.conn.execute(stmt)).all():
        key = attributed(programme, school, mapping)
        a = activities.setdefault(key, {"start": first, "donors": set()})
        a["start"] = min(a["start"], first)
        if donor:
            a["donors"].add(donor)
    return activities


def _activity_head(key: str, a: dict[str, Any], names: dict[str, dict[str, str]]) -> str:
    title = names["programmes"].get(key, "Entries not attributed to a programme")
    funders = "".join(
        _org("participating-org", f"{REPORTING_ORG}-donor-{d}", names["donors"].get(d, d), role="1")
        for d in sorted(a["donors"])
    )
    return "".join([
        '<iati-activity default-currency="KZT">',
        f"<iati-identifier>{escape(f'{REPORTING_ORG}-{key}')}</iati-identifier>",
        _org("reporting-org", REPORTING_ORG, REPORTING_ORG_NAME, type="21"),
        f"<title>{_narrative(title)}</title>",
        f"<description>{_narrative(f'{title} (programme code {key}).')}</description>",
        funders,
        _org("participating-org", REPORTING_ORG, REPORTING_ORG_NAME, role="4"),
        '<activity-status code="2"/>',
        f'<activity-date type="2" iso-date="{a["start"].isoformat()}"/>',
        '<recipient-country code="KZ" percentage="100"/>',
        f'<default-finance-type code="{STANDARD_GRANT}"/>',
        "\n",
    ])  # fmt: skip


class NothingToExport(DomainError):
    code = "nothing-to-export"
    title = "Nothing to export"


async def check_reportable(snap: Snapshot) -> None:
    """IATI requires at least one activity: an empty cut is refused before streaming."""
    if not await _activities(snap, await _school_programmes(snap)):
        raise NothingToExport(
            "the ledger has no entries in this cut, and an IATI activities file must hold at "
            "least one activity; record entries or widen as_of/known_at"
        )


async def iati_xml(snap: Snapshot) -> AsyncIterator[str]:
    t = snap.tables
    names = {
        "donors": await registry_names(snap.conn, t.donors),
        "schools": await registry_names(snap.conn, t.schools),
        "programmes": await registry_names(snap.conn, t.programmes),
    }
    mapping = await _school_programmes(snap)
    activities = await _activities(snap, mapping)
    yield (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<iati-activities version="{IATI_VERSION}">\n'
        f"<!-- grant ledger at log position {snap.at} -->\n"
    )
    for key in sorted(activities):
        yield _activity_head(key, activities[key], names)
        async for page in entry_pages(snap, _activity_where(snap, key, mapping), legs=False):
            yield "".join(transaction(entry, names) for entry, _ in page)
        yield "</iati-activity>\n"
    yield "</iati-activities>\n"
