"""Format checks for organisation details and publications (no database needed)."""

from __future__ import annotations

from datetime import date

import pytest

from portal.models.profiles import dbs_is_current
from portal.services import profiles as service


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("sw1a1aa", "SW1A 1AA"), (" M1 1AE ", "M1 1AE"), ("ec1a 1bb", "EC1A 1BB"),
     ("B33 8TH", "B33 8TH"), ("CR2 6XH", "CR2 6XH"), ("DN55 1PT", "DN55 1PT"),
     ("cf10 1aa", "CF10 1AA")],
)
def test_postcodes_accepted_and_normalised(raw, expected):
    assert service.normalise_postcode(raw) == expected


@pytest.mark.parametrize("raw", ["", "XYZ", "SW1A", "12345", "SW1A 1AAA", "QW1A 1AA",
                                 "SW1A 1AI", "<script>"])
def test_postcodes_refused(raw):
    with pytest.raises(ValueError):
        service.normalise_postcode(raw)


@pytest.mark.parametrize(("raw", "expected"), [("01234567", "01234567"), ("sc123456", "SC123456"),
                                               ("OC 301234", "OC301234")])
def test_company_numbers_accepted(raw, expected):
    assert service.normalise_company_number(raw) == expected


@pytest.mark.parametrize("raw", ["1234567", "123456789", "ABC12345", "S1234567", "12345678X",
                                 "SC12345"])
def test_company_numbers_refused(raw):
    with pytest.raises(ValueError):
        service.normalise_company_number(raw)


@pytest.mark.parametrize(("raw", "expected"), [("123456", "123456"), ("1123456", "1123456"),
                                               ("sc012345", "SC012345")])
def test_charity_numbers_accepted(raw, expected):
    assert service.normalise_charity_number(raw) == expected


@pytest.mark.parametrize("raw", ["12345", "12345678", "SC12345", "NI123456", "AB123456"])
def test_charity_numbers_refused(raw):
    with pytest.raises(ValueError):
        service.normalise_charity_number(raw)


@pytest.mark.parametrize("raw", ["http://example.org", "example.org", "https://localhost",
                                 "javascript:alert(1)", "https://exa mple.org",
                                 "https://user@example.org", "https://example.org:99999",
                                 "https://" + "a" * 300 + ".org"])
def test_https_urls_refused(raw):
    with pytest.raises(ValueError):
        service.normalise_https_url(raw)


def test_https_url_accepted():
    assert service.normalise_https_url(" https://www.example.org/x?y=1 ") == (
        "https://www.example.org/x?y=1"
    )



@pytest.mark.parametrize(
    ("dbs_type", "certificate", "update_service", "expected"),
    [
        ("enhanced", date(2025, 1, 1), False, True),
        ("enhanced", date(2021, 1, 1), False, False),
        ("enhanced", date(2021, 1, 1), True, True),
        ("standard", date(2025, 1, 1), True, False),
        (None, None, None, False),
        ("enhanced", date(2026, 1, 1), False, False),  # in the future
    ],
)
def test_dbs_current(dbs_type, certificate, update_service, expected):
    assert dbs_is_current(dbs_type, certificate, update_service, date(2025, 6, 1)) is expected
