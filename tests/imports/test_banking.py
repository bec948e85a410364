"""Kazakh bank identifiers: real published numbers pass; the check digits catch what they can."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.banking import check_bic, check_bin, check_iik, check_kbe, check_knp
from ledger.domain.errors import InvalidValue
from tests.imports.statements import bin_, iik

# IIKs and BINs as they appear on Kazakh banks' published statement samples.
REAL_IIKS = ["KZ79722S000001674774", "KZ22722C000024901213", "KZ698562203124676325"]
REAL_BINS = ["181140004063", "220840049859", "901041000015", "910308400020"]


@pytest.mark.parametrize("value", REAL_IIKS)
def test_real_iiks_pass_and_are_normalised(value: str) -> None:
    assert check_iik(value) == value
    spaced = " ".join(value[i : i + 4] for i in range(0, 20, 4)).lower()
    assert check_iik(spaced) == value


@pytest.mark.parametrize("value", REAL_BINS)
def test_real_bins_pass(value: str) -> None:
    assert check_bin(value) == value


@given(st.sampled_from(REAL_IIKS), st.integers(4, 19), st.sampled_from("0123456789"))
def test_any_changed_digit_of_an_iik_is_caught(value: str, at: int, digit: str) -> None:
    # Mod 97 catches every digit-for-digit change (97 is prime to 10); a letter that becomes
    # a digit changes two digits of the number and is not always caught.
    changed = value[:at] + digit + value[at + 1 :]
    if changed != value and value[at].isdigit():
        with pytest.raises(InvalidValue):
            check_iik(changed)


@given(st.sampled_from(REAL_BINS), st.sampled_from("0123456789"))
def test_a_wrong_check_digit_of_a_bin_is_caught(value: str, digit: str) -> None:
    # The scheme's weights make some changes of the other digits invisible (weight 11 is 0
    # mod 11), so only the check digit itself is always caught.
    changed = value[:11] + digit
    if changed != value:
        with pytest.raises(InvalidValue):
            check_bin(changed)


@given(st.text("0123456789", min_size=11, max_size=11))
def test_generated_bins_are_valid(prefix: str) -> None:
    assert check_bin(bin_(prefix))


@given(
    st.sampled_from(["722", "601", "856"]),
    st.text("0123456789ABCDEFGHJKLMNPRSTUVWXYZ", min_size=13, max_size=13),
)
def test_generated_iiks_are_valid(bank: str, account: str) -> None:
    assert check_iik(iik(bank, account))


@pytest.mark.parametrize(
    "bad",
    [
        "KZ7972 2S00000167477",
        "RU79722S000001674774",
        "KZ79722S00000167477",
        "KZ79722S0000016747745",
        "",
    ],
)
def test_malformed_iiks_are_refused(bad: str) -> None:
    with pytest.raises(InvalidValue):
        check_iik(bad)


def test_other_codes() -> None:
    assert check_bic("hsbkkzkx") == "HSBKKZKX"
    assert check_kbe("18") == "18"
    assert check_knp("311") == "311"
    for f, bad in ((check_bic, "HSBKRUMM"), (check_kbe, "1"), (check_kbe, "38"), (check_knp, "31")):
        with pytest.raises(InvalidValue):
            f(bad)
