"""A listing's content hash is what both backends store and compare to decide "new version": the fast way
it is computed must hash exactly the bytes it always hashed, or every stored listing would look changed."""
from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.models import Listing

optional_text = st.none() | st.text()


def reference_hash(listing: Listing) -> str:
    """The definition: json.dumps of the vendor-written fields, compact, not ASCII-escaped, UTF-8."""
    payload = json.dumps([listing.title, listing.description, listing.vendor, listing.price, listing.currency,
                          listing.ships_from, listing.ships_to, listing.category],
                         ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@given(title=st.text(), description=st.text(), vendor=optional_text, currency=optional_text,
       ships_from=optional_text, ships_to=optional_text, category=optional_text,
       price=st.none() | st.floats(allow_nan=True, allow_infinity=True))
def test_content_hash_is_the_json_definition(title, description, vendor, currency, ships_from, ships_to,
                                             category, price):
    listing = Listing(platform="p", listing_id="1", title=title, description=description, vendor=vendor,
                      price=price, currency=currency, ships_from=ships_from, ships_to=ships_to, category=category)
    assert listing.content_hash() == reference_hash(listing)


@pytest.mark.parametrize("text", ["quote \" backslash \\ tab \t nl \n cr \r bell \x07 del \x7f",
                                  "ünïcödé 芬太尼 \u2028\u2029 \ufeff emoji \U0001F48A", ""])
@pytest.mark.parametrize("price", [None, 0.1, 1e-05, 1e16, 1e22, -0.0, 2.5e-320, 12.0])
def test_content_hash_escapes_and_prices(text, price):
    listing = Listing(platform="p", listing_id="1", title=text, description=text, vendor=text, price=price)
    assert listing.content_hash() == reference_hash(listing)


def test_values_set_without_validation_hash_as_before():
    listing = Listing(platform="p", listing_id="1", title="t", price=5.0).model_copy(update={"price": 7})
    assert listing.content_hash() == reference_hash(listing)        # an int price: json writes 7, not 7.0
    with pytest.raises(UnicodeEncodeError):                           # a lone surrogate fails as it always did
        Listing(platform="p", listing_id="1", title="bad \ud800").content_hash()
