"""The extract_signals contract: every type registered and tested, sorted hits, exact offsets,
one signal per number, and bounded time on hostile input."""
from __future__ import annotations

import pytest

from index.models import Signal
from nlp.signals import SIGNAL_TYPES, extract_signals, extractors, signal

# One valid and one invalid (bad checksum, bad shape or missing context) example per type. The
# family test files hold the thorough cases; this table makes a new type without tests fail here.
EXAMPLES = {
    "telegram": ("Telegram: @chem_vendor", "@chem_vendor"),
    "whatsapp": ("WhatsApp +86 138 0013 8000", "WhatsApp +999 138 0013 8000"),
    "phone": ("tel +86 138 0013 8000", "tel 138 0013 8000"),
    "wickr": ("wickr: bigpharma99", "wickr only"),
    "signal_messenger": ("Signal: +44 7700 900123", "good signal +3dB"),
    "threema": ("Threema ID: ABCD1234", "Threema ID: ABC1234"),
    "session": ("05" + "ab" * 32, "06" + "ab" * 32),
    "wechat": ("WeChat: pharma_vendor88", "WeChat: abc"),
    "email": ("sales@chem-supply.com", "logo@2x.png"),
    "btc": ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb"),
    "eth": ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"),
    "xmr": ("44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A",
            "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3B"),
    "ltc": ("ltc1q94c3vs4hy6cygqtz0j5lhtpj7hy9xra35jqzmw", "ltc1q94c3vs4hy6cygqtz0j5lhtpj7hy9xra35jqzmq"),
    "trx": ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u"),
    "pgp_key": (None, "-----BEGIN PGP PUBLIC KEY BLOCK-----\nabc\n=AAAA\n-----END PGP PUBLIC KEY BLOCK-----"),
    "pgp_fingerprint": ("fingerprint D972 A9DE A526 31F5 2B96 B6D5 9EE4 11AB 5F06 C286",
                        "fingerprint D972 A9DE A526 31F5 2B96 B6D5 9EE4 11AB 5F06"),
    "onion": ("2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion",
              "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wie.onion"),
    "customs_evasion": ("100% customs clearance", "customs broker"),
    "stealth_shipping": ("discreet packaging", "tracked packaging"),
    "safe_delivery": ("safe delivery to Australia", "delivery in 3 days"),
    "no_prescription": ("no prescription needed", "prescription required"),
    "research_chemical": ("not for human consumption", "RC car"),
    "bulk_quantity": ("MOQ 1kg", "1g sample"),
    "purity": ("purity 99.8%", "100% guaranteed"),
}


def test_every_signal_type_is_registered_and_has_examples():
    assert set(EXAMPLES) == set(SIGNAL_TYPES)
    assert {ex.type for ex in extractors()} == set(SIGNAL_TYPES)


@pytest.mark.parametrize("type_", SIGNAL_TYPES)
def test_each_type_valid_and_invalid_example(type_):
    valid, invalid = EXAMPLES[type_]
    if valid is None:                      # pgp_key: real blocks live in tests/pgp_keys.py
        from tests.pgp_keys import ED25519_BLOCK
        valid = ED25519_BLOCK
    assert type_ in {s.type for s in extract_signals(valid, "title")}
    assert type_ not in {s.type for s in extract_signals(invalid, "title")}


def test_contract_sorted_offsets_field_and_models():
    text = ("Fentanyl precursor 4-AP, MOQ 1kg, purity 99.8%. Stealth shipping, 100% customs clearance. "
            "Wickr: chemlab99 | WhatsApp +86 138 0013 8000 | BTC 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa | "
            "mirror 2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion")
    out = extract_signals(text, "description")
    assert all(isinstance(s, Signal) and s.field == "description" for s in out)
    assert [s.start for s in out] == sorted(s.start for s in out)
    got = {(s.type, text[s.start:s.end], s.value) for s in out}
    assert got == {
        ("bulk_quantity", "MOQ 1kg", "1000g"),
        ("purity", "purity 99.8%", "99.8%"),
        ("stealth_shipping", "Stealth shipping", "stealth shipping"),
        ("customs_evasion", "100% customs clearance", "customs clearance guaranteed"),
        ("wickr", "chemlab99", "chemlab99"),
        ("whatsapp", "+86 138 0013 8000", "+8613800138000"),     # and no duplicate "phone"
        ("btc", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
        ("onion", "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion",
         "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion"),
    }
    assert all(s.rule and 0 < s.confidence <= 1 for s in out)


def test_offsets_are_into_the_original_text_with_astral_and_combining_characters():
    text = "🔥🔥 F\u0301ENT 💊 wickr: chemlab99 — 纯度99% — 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    out = extract_signals(text, "title")
    assert {text[s.start:s.end] for s in out} == {"chemlab99", "纯度99%", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}


def test_types_filter_and_empty_text():
    assert extract_signals("", "title") == []
    text = "MOQ 1kg, stealth"
    assert [s.type for s in extract_signals(text, "title", types=["bulk_quantity"])] == ["bulk_quantity"]


def test_registering_an_unknown_type_is_refused():
    with pytest.raises(ValueError, match="unknown signal type"):
        signal("carrier_pigeon")


ADVERSARIAL = {
    "base58 run": "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa" * 30_000,
    "hex run": "05" + "ab" * 500_000,
    "digits and separators": "+86 " + "1 2-3." * 170_000,
    "at signs": "a@" * 500_000,
    "emails without tld": ("x" * 60 + "@" + "a." * 5) * 14_000,
    "messenger words": "telegram whatsapp wechat signal threema wickr @aaaaa " * 20_000,
    "pgp begins": "-----BEGIN PGP PUBLIC KEY BLOCK-----\n" * 27_000,
    "pgp body": "-----BEGIN PGP PUBLIC KEY BLOCK-----\n" + "QUFB" * 250_000 + "\n-----END PGP PUBLIC KEY BLOCK-----",
    "hex groups": "abcd " * 200_000,
    "onion-ish": "a" * 1_000_000 + ".onion",
    "claim words": "safe delivery to the " * 50_000,
    "percent": "99.9% " * 170_000,
    "weights": "1,000,000," * 100_000 + " kg",
    "cjk": "微信微信" * 250_000,
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_one_megabyte_of_hostile_input_completes(name):
    """No catastrophic backtracking: each 1 MB input finishes (pytest-timeout guards it, not a timer)."""
    text = ADVERSARIAL[name]
    assert len(text) >= 900_000
    out = extract_signals(text, "description")
    for s in out[:50]:
        assert 0 <= s.start < s.end <= len(text)
