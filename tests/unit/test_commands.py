"""Commands as values: fingerprints pinned to the values stored claims hold, typed results.

The pinned digests were taken from claims the application recorded before commands were
values (hand-built argument dicts); a retry of such a request must still replay, so a
command value's fingerprint must equal them byte for byte.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from uuid import UUID

import pytest

from ledger.application.app import LedgerApplication
from ledger.application.approval_commands import (
    ApproveDisbursement,
    ExpireDisbursement,
    RejectDisbursement,
)
from ledger.application.approval_policy import ApprovalPolicy
from ledger.application.bank_commands import (
    ChangeBankAccount,
    CloseBankAccount,
    RegisterBankAccount,
)
from ledger.application.command import Command
from ledger.application.entry_commands import (
    ContributeInKind,
    CoverOperatingCost,
    RecordExpenditure,
    ReverseEntry,
)
from ledger.application.grant_commands import CommitGrant, Disburse, ReduceGrant
from ledger.application.import_commands import RecordImport
from ledger.application.period_commands import ClosePeriod, ReopenPeriod
from ledger.application.registry_commands import RegisterDonor, RegisterProgramme, RegisterSchool
from ledger.application.results import (
    BankAccountRecorded,
    Decided,
    ImportRecorded,
    Pending,
    PeriodChanged,
    Posted,
    Reduced,
    Registered,
    Result,
    Reversed,
)
from ledger.application.statement_commands import ExplainBankLine, ReceiveBankLines
from ledger.application.unit_of_work import Context
from tests.conftest import make_app

D = dt.date(2024, 3, 1)
GRANT = UUID("00000000-0000-4000-8000-000000000001")
ENTRY = UUID("00000000-0000-4000-8000-000000000002")
IIK = "KZ456010000000000001"

PINNED: list[tuple[Command, str, str]] = [
    (RegisterDonor(code="fund-a", name="Fund A"), "register_donor",
     "bef69eb829cbaba527b5c6b489c18e1a583c1af36e54ea8a09f92a98b88e6096"),
    # kind=None leaves the fingerprint as it was before donors had kinds.
    (RegisterDonor(code="fund-c", name="Fund C", kind=None), "register_donor",
     "87e8eea92a5c873e90909adb857f2549e578875323c1e062c0f3481095e8ca38"),
    (RegisterDonor(code="fund-b", name="Fund B", kind="fund"), "register_donor",
     "5ffebe3f37140446479bc7645f6808591acf8eddfd76bc57d495cd064f6a5b50"),
    (RegisterProgramme(code="prog-x", name="Programme X"), "register_programme",
     "727cc676ea7134056011f664b6b37124b7b420d501d11081f07e0642e25e582c"),
    (RegisterSchool(code="sch-1", name="School 1", school_type="hub", region="almaty",
                    district="d1"), "register_school",
     "758ce701f6c77a6c123c9a789d7609b038ffbb104cb796084bc8b6df7d28fe93"),
    (CommitGrant(donor="fund-a", school="sch-1", programme="prog-x", amount=100000,
                 currency="KZT", value_date=D, reference="G-1"), "commit_grant",
     "86995abe8ed3b808bf99bf2989045721f941dd4c0c2d09f5338396a83c235a64"),
    (Disburse(grant_id=GRANT, amount=1000, currency="KZT", value_date=D,
              payment_reference="PO-1"), "disburse",
     "fb947b3ca596a81aacb9e55cdcf3701a7ea635da98bfadbe3a3ebf9e749de3fa"),
    (ReduceGrant(grant_id=GRANT, amount=500, value_date=D, reason="smaller"), "reduce_grant",
     "ba634f3f7b3d85e6d7449648e3481d76790ea987619b1ac746e9128cbb8c0336"),
    (ReduceGrant(grant_id=GRANT, amount=None, value_date=D, reason="stop"), "reduce_grant",
     "014d87256eb82938654b0f7f8f223d59b918240802fb257b4cb4deb8134380e0"),
    (RecordExpenditure(school="sch-1", amount=100, currency="KZT", category="books",
                       value_date=D, reference="INV-1"), "record_expenditure",
     "1bc4bd71089e5597dabce2462135a62fa3de242d5e606ee7a7b9c5497f865cfc"),
    # A named source joins the fingerprint only when given (without it: the pin above).
    (RecordExpenditure(school="sch-1", amount=100, currency="KZT", category="books",
                       value_date=D, reference="INV-1", from_grant=GRANT), "record_expenditure",
     "318bc1261b34d0526370d76e6d5cab0c955e319f2ce858d0fa7dd81ad82b72e1"),
    (ContributeInKind(donor="fund-a", kind="laptops", fair_value=700, currency="KZT",
                      valuation_basis="invoice", quantities={"teachers_trained": 2},
                      school="sch-1", programme=None, value_date=D, from_programme="prog-x"),
     "contribute_in_kind",
     "8cccc8f9517e242774ef100d4a7cb15e1c702768bea999b221c4428e1eed5f42"),
    (CoverOperatingCost(donor="fund-a", amount=10, currency="KZT", category="audit-fees",
                        programme=None, value_date=D, reference="R-1", description="audit"),
     "cover_operating_cost",
     "7717ffc9927e9e33d4ac88bc055c3a5a2822abc1dcb2bffc636d32527a2c1976"),
    (ContributeInKind(donor="fund-a", kind="laptops", fair_value=700, currency="KZT",
                      valuation_basis="invoice", quantities={"teachers_trained": 2},
                      school="sch-1", programme=None, value_date=D), "contribute_in_kind",
     "913f24fbcb83db5bc2819eedb4f5474a03ff9dd7c9c2b99ef0d65b0775e4fa8c"),
    (ReverseEntry(entry_id=ENTRY, reason="wrong"), "reverse_entry",
     "5e61b2e21e0e7a24256c5f937a552b4affbf69047587fd31008179ca340b2648"),
    (ApproveDisbursement(entry_id=ENTRY, reason="ok"), "approve_disbursement",
     "b3ee9b3e13a3e212f214800dde3954d85bb13a41d0c5907f2bd3afbc151db0d6"),
    (RejectDisbursement(entry_id=ENTRY, reason="no"), "reject_disbursement",
     "3198b459dee4baeabdad505aa752e0132e43eb2a054c64a3b4d995db83eaefed"),
    # The sweeper's clock is not part of the request.
    (ExpireDisbursement(entry_id=ENTRY, now=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)),
     "expire_disbursement",
     "1f77b435ce9d8f5cbd29207dd4a155abd9ee91a79be22e96f0e7c7db0a9c66cb"),
    (ClosePeriod(period="2023-12", reason="year end"), "close_period",
     "8802446f06c787486e361521d79038595384f99d9a6ca969ff179becef9e1429"),
    (ReopenPeriod(period="2023-12", reason="late invoice"), "reopen_period",
     "788ef00585998f6a2f01e0e8b6590dbca26264e815a49ec831fe340858b06598"),
    (RegisterBankAccount(party_kind="school", party="sch-1", iik=IIK, bic="HSBKKZKX",
                         bin="201240000000", kbe="18", valid_from=D), "register_bank_account",
     "89a288468833b256eb76048d55d26e7ce624c13c7ef09b22d4c08777fe24c40f"),
    # An IIK as people write it (spaces, lower case) is the same request.
    (RegisterBankAccount(party_kind="school", party="sch-1", iik="kz45 6010 0000 0000 0001",
                         bic="HSBKKZKX", bin="201240000000", kbe="18", valid_from=D),
     "register_bank_account",
     "89a288468833b256eb76048d55d26e7ce624c13c7ef09b22d4c08777fe24c40f"),
    (ChangeBankAccount(party_kind="school", party="sch-1", iik=IIK, bic="CASPKZKA",
                       bin="201240000000", kbe=None, valid_from=D), "change_bank_account",
     "d77d2234019a606a3e924b079d2773578e8ae64596b4ecc7177a396fffa655b4"),
    (CloseBankAccount(party_kind="donor", party="fund-a", iik=IIK, valid_to=D, reason="moved"),
     "close_bank_account",
     "2fa2646708cf028c0db47316234709f3d82c54e2cc5fca3f0dfd2219b0ba1620"),
    (ReceiveBankLines(iik=IIK, month="2024-03", lines=[{"key": "bank-1", "amount": 5}],
                      balances={"2024-03-01:opening": 0}, import_sha256="ab"),
     "receive_bank_lines",
     "6d1241b9b7a4cbca468ca3472fd65dc25762f0e2dffd8b7e8250304d0f383adf"),
    (ExplainBankLine(iik=IIK, date=D, key="bank-1", reason="fee"), "explain_bank_line",
     "e7df3061ee7da4a0ae0b3ae0d1a701ad1e409476fb38d687bd40eb2d9e26ba32"),
    # The file is the request: the counts of a second run of it do not change the key's claim.
    (RecordImport(file_name="s.txt", sha256="ab", size=10, format="1c-statement", kind=None,
                  period_start=D, period_end=D, accounts=("KZ1",), atomic=True, rows=1,
                  recorded=1, replayed=0, refused=0), "record_import",
     "2f938d2f9e9879fe1bd4de1d5d42766b7e573b1c649127a2c03e0624009a5a63"),
    (RecordImport(file_name="s.txt", sha256="ab", size=10, format="1c-statement", kind=None,
                  period_start=D, period_end=D, accounts=("KZ1",), atomic=True, rows=1,
                  recorded=0, replayed=1, refused=0), "record_import",
     "2f938d2f9e9879fe1bd4de1d5d42766b7e573b1c649127a2c03e0624009a5a63"),
]  # fmt: skip


@pytest.mark.parametrize(("command", "name", "digest"), PINNED)
def test_a_command_value_fingerprints_as_the_stored_claims_do(
    command: Command, name: str, digest: str
) -> None:
    assert command.command_name == name
    assert command.fingerprint == digest


def test_every_command_is_pinned() -> None:
    def leaves(cls: type[Command]) -> Iterator[type[Command]]:
        for sub in cls.__subclasses__():
            yield from leaves(sub) if sub.__subclasses__() else [sub]

    assert {type(c) for c, _, _ in PINNED} == set(leaves(Command))


EXPIRES = dt.datetime(2025, 1, 13, 9, 30, tzinfo=dt.UTC)
RESULTS: list[tuple[Result, dict[str, object]]] = [
    (Registered(code="fund-a"), {"code": "fund-a"}),
    (Posted(entry_id="e", grant_id="g"), {"grant_id": "g", "entry_id": "e"}),
    (Posted(entry_id="e"), {"entry_id": "e"}),
    (Pending(grant_id="g", entry_id="e", expires_at=EXPIRES),
     {"grant_id": "g", "entry_id": "e", "status": "pending",
      "expires_at": "2025-01-13T09:30:00+00:00"}),
    (Reduced(grant_id="g", entry_id="e", amount=5),
     {"grant_id": "g", "entry_id": "e", "amount": 5}),
    (Reversed(entry_id="r", reverses="e"), {"entry_id": "r", "reverses": "e"}),
    (Decided(grant_id="g", entry_id="e", status="rejected"),
     {"grant_id": "g", "entry_id": "e", "status": "rejected"}),
    (PeriodChanged(period="2024-01", status="open"), {"period": "2024-01", "status": "open"}),
    (BankAccountRecorded(iik="KZ1", party_kind="school", party="s", status="open"),
     {"iik": "KZ1", "party_kind": "school", "party": "s", "status": "open"}),
    (ImportRecorded(import_id="i"), {"import_id": "i"}),
]  # fmt: skip


@pytest.mark.parametrize(("result", "stored"), RESULTS)
def test_a_result_stores_the_response_it_always_stored_and_reads_back(
    result: Result, stored: dict[str, object]
) -> None:
    assert result.response() == stored
    assert list(result.response()) == list(stored)  # the same key order, too
    assert type(result).from_response(result.response()) == result


@pytest.fixture
def app() -> Iterator[LedgerApplication]:
    application = make_app("memory://")
    application.approvals = ApprovalPolicy()
    c = Context(actor="finance-1", idempotency_key="setup-0001")
    application.register_donor(c, code="fund-a", name="Fund A")
    application.register_school(
        Context(actor="finance-1", idempotency_key="setup-0002"), code="sch-1",
        name="School 1", school_type="hub", region="almaty", district="d1",
    )  # fmt: skip
    yield application
    application.close()


def test_a_disbursement_answers_posted_or_pending_and_a_replay_the_same_type(
    app: LedgerApplication,
) -> None:
    grant = app.commit_grant(
        Context(actor="finance-1", idempotency_key="grant-0001"), donor="fund-a",
        school="sch-1", programme=None, amount=200_000_000_00, currency="KZT", value_date=D,
        reference="G-1",
    )  # fmt: skip
    assert isinstance(grant.result, Posted)
    grant_id = UUID(grant.response["grant_id"])
    for amount, kind in ((1_000, Posted), (60_000_000_00, Pending)):
        c = Context(actor="finance-1", idempotency_key=f"pay-{amount}")
        first, again = (
            app.disburse(
                c,
                grant_id=grant_id,
                amount=amount,
                currency="KZT",
                value_date=D,
                payment_reference=f"PO-{amount}",
            )
            for _ in range(2)
        )
        assert isinstance(first.result, kind) and isinstance(again.result, kind)
        assert again.replayed and again.response == first.response
        assert again.result == first.result
        assert first.response == first.result.response()
