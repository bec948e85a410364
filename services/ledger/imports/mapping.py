"""From statement lines and register rows to recording requests, or to a reason why not.

A statement line paid from a donor's IIK to a school's IIK is that donor's disbursement
to that school, against the school's one open grant from that donor (none, or more than
one: the line waits for a decision). A line paid from a school's IIK is that school's
expenditure, its category taken from the KNP code. Anything else is listed, not guessed.

Each request's idempotency key comes from what identifies the payment at the bank, never
from the file: importing the same payment again (the same file, an overlapping period,
the payer's and the payee's statements) replays it instead of recording it twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from contracts.batch import BatchItem
from contracts.entries import ContributeInKind, CoverOperatingCost, Disburse, RecordExpenditure
from ledger.imports.columns import QUANTITIES
from ledger.imports.onec import Document, Problem, Statement
from ledger.imports.registers import Register, Row

# recorded / replayed: after the batch service answered for the line.
Status = Literal["ready", "needs-decision", "not-mapped", "refused", "recorded", "replayed"]
GrantKey = tuple[str, str, str]  # donor, school, currency


@dataclass(frozen=True)
class Holder:
    party_kind: str
    party: str
    valid_from: dt.date
    valid_to: dt.date | None

    def covers(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass
class Directory:
    """What the ledger knows that mapping needs, looked up before mapping starts."""

    holders: dict[str, list[Holder]] = field(default_factory=dict)
    grants: dict[GrantKey, list[str]] = field(default_factory=dict)
    knp_categories: dict[str, str] = field(default_factory=dict)
    # (party kind, code) -> the IIKs the party held, with when (for register rows).
    accounts: dict[tuple[str, str], list[tuple[str, Holder]]] = field(default_factory=dict)

    def paid_from(self, party_kind: str, party: str | None, day: dt.date) -> str | None:
        """The one account the party paid from on ``day``; None if it had none or several."""
        held = [iik for iik, h in self.accounts.get((party_kind, party or ""), ()) if h.covers(day)]
        return held[0] if len(held) == 1 else None

    def holder(self, iik: str | None, day: dt.date | None) -> Holder | None:
        if iik is None or day is None:
            return None
        for h in self.holders.get(iik, ()):
            if h.covers(day):
                return h
        return None


@dataclass
class Line:
    """One statement document or register row and what importing it would do."""

    line: int
    status: Status
    action: str | None = None
    number: str | None = None
    value_date: dt.date | None = None
    amount: int | None = None
    currency: str | None = None
    counterparty: str | None = None
    item: BatchItem | None = None
    problems: list[Problem] = field(default_factory=list)
    # After recording: what the route answered for the line.
    result: dict[str, Any] | None = None


_MODELS: dict[str, type[BaseModel]] = {
    "disbursement": Disburse,
    "expenditure": RecordExpenditure,
    "operating-cost": CoverOperatingCost,
    "in-kind": ContributeInKind,
}


def bank_key(*parts: object) -> str:
    """A stable Idempotency-Key from the payment's identity at the bank."""
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return "bank-" + hashlib.sha256(text.encode()).hexdigest()[:48]


def _ready(line: Line, action: str, path: str, key: str, body: dict[str, Any]) -> Line:
    """The request as the single route takes it, or the field problems the route would name."""
    try:
        _MODELS[action].model_validate(body)
    except ValidationError as e:
        for err in e.errors():
            where = ".".join(str(x) for x in err["loc"]) or action
            line.problems.append(Problem(line.line, where, err["msg"]))
        line.status, line.action = "refused", action
        return line
    line.status, line.action = "ready", action
    line.item = BatchItem(path=path, idempotency_key=key, body=body)
    return line


def _grant_for(line: Line, directory: Directory, donor: str, school: str) -> str | None:
    currency = line.currency or "KZT"
    found = directory.grants.get((donor, school, currency), [])
    if len(found) == 1:
        return found[0]
    line.status, line.action = "needs-decision", "disbursement"
    if found:
        message = f"{len(found)} open grants from {donor} to {school} in {currency}: " + ", ".join(
            found[:5]
        )
    else:
        message = f"no open grant from {donor} to {school} in {currency}"
    line.problems.append(Problem(line.line, "grant", message))
    return None


# -- statements -------------------------------------------------------------------------


def grant_keys_of_statement(statement: Statement, directory: Directory) -> set[GrantKey]:
    keys: set[GrantKey] = set()
    for doc in statement.documents:
        payer = directory.holder(doc.payer.iik, doc.date)
        payee = directory.holder(doc.payee.iik, doc.date)
        if payer and payee and (payer.party_kind, payee.party_kind) == ("donor", "school"):
            keys.add((payer.party, payee.party, doc.currency))
    return keys


def plan_statement(statement: Statement, directory: Directory) -> list[Line]:
    seen: dict[str, int] = {}
    lines = [_document(doc, directory) for doc in statement.documents]
    for line in lines:
        if line.item is None:
            continue
        first = seen.setdefault(line.item.idempotency_key, line.line)
        if first != line.line:
            line.status, line.item = "refused", None
            line.problems.append(
                Problem(
                    line.line, "НомерДокумента", f"the same payment as the document at line {first}"
                )
            )
    return lines


def _document(doc: Document, directory: Directory) -> Line:
    day = doc.operation_date or doc.date
    line = Line(
        doc.line, "refused", number=doc.number, value_date=day, amount=doc.amount,
        currency=doc.currency, counterparty=doc.payee.name or doc.payer.name,
        problems=list(doc.problems),
    )  # fmt: skip
    if doc.number is None:
        line.problems.append(Problem(doc.line, "НомерДокумента", "the document has no number"))
    if doc.date is None:
        line.problems.append(Problem(doc.line, "ДатаДокумента", "the document has no date"))
    if line.problems or day is None or doc.amount is None:
        return line
    payer = directory.holder(doc.payer.iik, doc.date)
    payee = directory.holder(doc.payee.iik, doc.date)
    # The payment order is the payer's: its account, number, date and amount name it in
    # the payer's statement and the payee's alike.
    key = bank_key(doc.payer.iik, doc.number, doc.date, doc.amount, doc.currency)
    money = {"amount": doc.amount, "currency": doc.currency, "value_date": day.isoformat()}
    if payer and payee and (payer.party_kind, payee.party_kind) == ("donor", "school"):
        line.counterparty = f"{payer.party} -> {payee.party}"
        grant = _grant_for(line, directory, payer.party, payee.party)
        if grant is None:
            return line
        body = {**money, "payment_reference": doc.number}
        return _ready(line, "disbursement", f"/v1/grants/{grant}/disbursements", key, body)
    if payer and payer.party_kind == "school":
        line.counterparty = doc.payee.name or doc.payee.iik
        category = directory.knp_categories.get(doc.knp or "")
        if category is None:
            line.status, line.action = "needs-decision", "expenditure"
            line.problems.append(
                Problem(doc.line, "КодНазначенияПлатежа",
                        f"KNP {doc.knp or '(none)'} has no expenditure category in the settings")
            )  # fmt: skip
            return line
        body = {
            **money,
            "category": category,
            "reference": doc.number,
            "description": " ".join((doc.purpose or "").split())[:500],
        }
        path = f"/v1/schools/{payer.party}/expenditures"
        return _ready(line, "expenditure", path, key, body)
    line.status = "not-mapped"
    who = "payee" if payer is None else "payer"
    line.problems.append(Problem(doc.line, who, _unmapped(payer, payee, doc)))
    return line


def _unmapped(payer: Holder | None, payee: Holder | None, doc: Document) -> str:
    def name(h: Holder | None, iik: str | None) -> str:
        return f"{h.party_kind} {h.party}" if h else f"{iik or '(no IIK)'} (not registered)"

    return (
        f"{name(payer, doc.payer.iik)} paid {name(payee, doc.payee.iik)}: only a donor paying "
        "a school or a school paying anyone is imported; record it by hand if it belongs here"
    )


# -- registers --------------------------------------------------------------------------

_ACTION = {
    "disbursements": "disbursement",
    "expenditures": "expenditure",
    "operating-costs": "operating-cost",
    "in-kind": "in-kind",
}


def grant_keys_of_register(register: Register) -> set[GrantKey]:
    if register.kind != "disbursements":
        return set()
    return {
        (r.values["donor"], r.values["school"], r.values.get("currency", "KZT"))
        for r in register.rows
        if "grant_id" not in r.values and "donor" in r.values and "school" in r.values
    }


def plan_register(register: Register, directory: Directory) -> list[Line]:
    seen: dict[str, int] = {}
    lines = []
    for row in register.rows:
        line = _row(register.kind, row, directory)
        if line.item is not None:
            first = seen.setdefault(line.item.idempotency_key, line.line)
            if first != line.line:
                line.status, line.item = "refused", None
                line.problems.append(Problem(line.line, "reference", f"the same as row {first}"))
        lines.append(line)
    return lines


def payers_of_register(register: Register) -> set[tuple[str, str]]:
    """The parties whose accounts register rows were paid from."""
    kind = {"disbursements": "donor", "expenditures": "school", "operating-costs": "donor"}
    who = kind.get(register.kind)
    if who is None:
        return set()
    return {(who, r.values[who]) for r in register.rows if who in r.values}


def _row_key(kind: str, directory: Directory, line: Line, v: dict[str, Any], *more: object) -> str:
    """The payment's key at the bank when the payer's account is known, so the statement
    that shows the same payment replays it; else a key from the register's own fields."""
    payer = "school" if kind == "expenditures" else "donor"
    assert line.value_date is not None
    iik = directory.paid_from(payer, v.get(payer), line.value_date)
    if iik is not None:
        return bank_key(iik, line.number, line.value_date, line.amount, line.currency)
    return bank_key(_ACTION[kind], *more, line.number, line.value_date, line.amount)


def _row(kind: str, row: Row, directory: Directory) -> Line:
    v = row.values
    action = _ACTION[kind]
    amount = v.get("fair_value", v.get("amount"))
    line = Line(
        row.line, "refused", action=action, number=v.get("payment_reference", v.get("reference")),
        value_date=v.get("value_date"), amount=amount, currency=v.get("currency", "KZT"),
        counterparty=v.get("school") or v.get("donor"), problems=list(row.problems),
    )  # fmt: skip
    if line.problems:
        return line
    money = {"currency": line.currency, "value_date": v["value_date"].isoformat()}
    if kind == "disbursements":
        grant = v.get("grant_id") or _grant_for(line, directory, v["donor"], v["school"])
        if grant is None:
            return line
        key = _row_key(kind, directory, line, v, grant)
        body = {**money, "amount": amount, "payment_reference": line.number}
        return _ready(line, action, f"/v1/grants/{grant}/disbursements", key, body)
    if kind == "expenditures":
        key = _row_key(kind, directory, line, v, v["school"])
        body = {**money, "amount": amount, "category": v["category"], "reference": line.number,
                "description": v.get("description", "")}  # fmt: skip
        return _ready(line, action, f"/v1/schools/{v['school']}/expenditures", key, body)
    if kind == "operating-costs":
        key = _row_key(kind, directory, line, v, v["donor"])
        body = {**money, "amount": amount, "donor": v["donor"], "category": v["category"],
                "programme": v.get("programme"), "reference": line.number,
                "description": v.get("description", "")}  # fmt: skip
        return _ready(line, action, "/v1/operating-costs", key, body)
    recipient = v.get("school") or v.get("programme")
    key = bank_key("in-kind", v["donor"], recipient, v["kind"], line.value_date, amount)
    body = {
        **money, "donor": v["donor"], "kind": v["kind"], "fair_value": amount,
        "valuation_basis": v["valuation_basis"], "school": v.get("school"),
        "programme": v.get("programme"),
        "quantities": {q: v[q] for q in QUANTITIES if q in v},
    }  # fmt: skip
    return _ready(line, action, "/v1/in-kind-contributions", key, body)
