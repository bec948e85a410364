"""360Giving JSON: a ``{"grants": [...]}`` package, one grant object per ledger grant.

``amountAwarded`` is the net commitment (commitments less reductions, reversals
netted) and ``amountDisbursed`` the net disbursements, as the school and donor
balance endpoints count them; each disbursement (and reversal of one) is listed in
``disbursementTransaction``. Amounts are JSON numbers written from integers as exact
decimal text, never through a binary fraction.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select

from projections.exports.iati import REPORTING_ORG
from projections.exports.money import decimal_text
from projections.exports.source import Snapshot, effective_kind, registry_names, utc_iso

# 360Giving identifiers start with the publisher's registered prefix; this is the
# operator's placeholder (see iati.REPORTING_ORG).
PREFIX = "360G-hubledger"
PAGE_GRANTS = 200


def _j(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def grant_json(
    grant: dict[str, Any], entries: list[dict[str, Any]], names: dict[str, dict[str, str]]
) -> str | None:
    commitments = [e for e in entries if e["kind"] == "commitment"]
    if not commitments:
        return None  # committed after the cut: not a grant yet at that point
    awarded = disbursed = 0
    transactions: list[str] = []
    for e in entries:
        kind, sign = effective_kind(e), -1 if e["kind"] == "reversal" else 1
        if kind == "commitment":
            awarded += sign * e["amount"]
        elif kind == "reduction":
            awarded -= sign * e["amount"]
        elif kind == "disbursement":
            disbursed += sign * e["amount"]
            value = decimal_text(sign * e["amount"], e["currency"])
            tx_id = f"{PREFIX}-{e['entry_id']}"
            text = f"{e['kind']} {e['reference'] or e['reverses'] or ''}".strip()
            transactions.append(
                f'{{"id":{_j(tx_id)},"transactionDate":{_j(e["value_date"].isoformat())},'
                f'"currency":{_j(e["currency"])},"value":{value},"description":{_j(text)}}}'
            )
    first, currency = commitments[0], grant["currency"]
    donor, school, programme = grant["donor"], grant["school"], grant["programme"]
    school_name = names["schools"].get(school, school)
    title = f"Hub-school grant to {school_name}"
    donor_name = names["donors"].get(donor, donor)
    grant_ref = f"{PREFIX}-{grant['grant_id']}"
    description = f"{title} from {donor_name}, agreement {first['reference'] or '-'}."
    school_ref, donor_ref = f"{REPORTING_ORG}-school-{school}", f"{REPORTING_ORG}-donor-{donor}"
    modified = utc_iso(max(e["recorded_at"] for e in entries))
    fields = [
        f'"id":{_j(grant_ref)}',
        f'"title":{_j(title)}',
        f'"description":{_j(description)}',
        f'"currency":{_j(currency)}',
        f'"amountAwarded":{decimal_text(awarded, currency)}',
        f'"amountDisbursed":{decimal_text(disbursed, currency)}',
        f'"awardDate":{_j(first["value_date"].isoformat())}',
        f'"recipientOrganization":[{{"id":{_j(school_ref)},"name":{_j(school_name)}}}]',
        f'"fundingOrganization":[{{"id":{_j(donor_ref)},"name":{_j(donor_name)}}}]',
        f'"dateModified":{_j(modified)}',
    ]
    if programme:
        fields.append(
            f'"grantProgramme":[{{"code":{_j(programme)},'
            f'"title":{_j(names["programmes"].get(programme, programme))}}}]'
        )
    if transactions:
        fields.append(f'"disbursementTransaction":[{",".join(transactions)}]')
    return "{" + ",".join(fields) + "}"


async def giving360_json(snap: Snapshot) -> AsyncIterator[str]:
    t = snap.tables
    g, e = t.grants, t.entries
    names = {
        "donors": await registry_names(snap.conn, t.donors),
        "schools": await registry_names(snap.conn, t.schools),
        "programmes": await registry_names(snap.conn, t.programmes),
    }
    yield '{"grants":['
    after, first = "", True
    while True:
        stmt = select(g).where(g.c.grant_id > after).order_by(g.c.grant_id).limit(PAGE_GRANTS)
        grants = [dict(r) for r in (await snap.conn.execute(stmt)).mappings().all()]
        if not grants:
            break
        after = grants[-1]["grant_id"]
        by_grant: dict[str, list[dict[str, Any]]] = {x["grant_id"]: [] for x in grants}
        rows = await snap.conn.execute(
            select(e)
            .where(e.c.grant_id.in_(list(by_grant)), snap.entry_filter())
            .order_by(e.c.position)
        )
        for row in rows.mappings().all():
            by_grant[row["grant_id"]].append(dict(row))
        chunk = [grant_json(x, by_grant[x["grant_id"]], names) for x in grants]
        objects = [c for c in chunk if c is not None]
        if objects:
            yield ("" if first else ",") + "\n" + ",\n".join(objects)
            first = False
        if len(grants) < PAGE_GRANTS:
            break
    yield "\n]}\n"
