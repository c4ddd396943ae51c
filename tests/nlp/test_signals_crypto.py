"""Wallet addresses: published vectors are found, any one-character change is rejected."""
from __future__ import annotations

import hashlib

import pytest

from nlp.signals import extract_signals
from nlp.signals.checksums import (b58check_encode, keccak256, segwit_decode, segwit_encode,
                                   xmr_b58decode, xmr_b58encode)
from nlp.signals.crypto import eip55


def found(text, type_):
    sigs = [s for s in extract_signals(text, "description") if s.type == type_]
    for s in sigs:
        assert s.field == "description"
        assert text[s.start:s.end]  # offsets index the text as given
    return sigs


def flip(addr: str, pos: int, alphabet: str) -> str:
    """Change one character to another character of the same alphabet (still looks valid)."""
    c = addr[pos]
    repl = next(a for a in alphabet if a != c and a.lower() != c.lower())
    return addr[:pos] + repl + addr[pos + 1:]


B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
BECH = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
H160 = hashlib.new("sha256", b"interdict test key").digest()[:20]


def test_keccak256_is_pre_nist_keccak_not_sha3():
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert keccak256(b"").hex() != hashlib.sha3_256(b"").hexdigest()
    # a multi-block message (> 136-byte rate) exercises absorption across permutations
    assert keccak256(b"a" * 200) != keccak256(b"a" * 199)


# --- BTC ----------------------------------------------------------------------------------------

BTC_VALID = [
    ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "btc.p2pkh"),            # genesis block coinbase
    ("1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH", "btc.p2pkh"),            # hash160 of secp256k1 G
    ("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "btc.p2sh"),             # Bitcoin wiki P2SH example
    ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "btc.bech32"),    # BIP173 P2WPKH
    ("bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3", "btc.bech32"),  # BIP173 P2WSH
    ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "btc.bech32m"),  # BIP350 taproot
    ("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "btc.bech32m"),         # BIP350 witness v2
    (b58check_encode(b"\x00" + H160), "btc.p2pkh"),                    # built with our encoder
    (segwit_encode("bc", 1, hashlib.sha256(b"x").digest()), "btc.bech32m"),
]


@pytest.mark.parametrize("addr,rule", BTC_VALID)
def test_btc_valid_addresses_are_found_with_exact_offsets(addr, rule):
    text = f"Payment: BTC only -> {addr}. Thanks"
    [s] = found(text, "btc")
    assert text[s.start:s.end] == addr
    assert s.rule == rule
    assert s.value == (addr.lower() if addr.lower().startswith("bc1") else addr)


def test_btc_uppercase_bech32_is_normalized_lowercase():
    text = "send to BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"
    [s] = found(text, "btc")
    assert s.value == "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
    assert text[s.start:s.end] == "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"


@pytest.mark.parametrize("addr,rule", BTC_VALID)
def test_btc_one_changed_character_is_rejected(addr, rule):
    alphabet = BECH if addr.lower().startswith("bc1") else B58
    for pos in (len(addr) // 2, len(addr) - 1):
        bad = flip(addr, pos, alphabet)
        assert found(f"btc {bad} ", "btc") == [], bad


@pytest.mark.parametrize("bad", [
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",  # BIP350: v1 with bech32 checksum
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",                      # BIP350: v0 with bech32m checksum
    "bc1qW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",                      # mixed case
    "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",                      # testnet, not a market wallet
    "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcsx",                           # trailing junk
])
def test_btc_bech32_spec_invalid_vectors_are_rejected(bad):
    assert found(f"wallet {bad}", "btc") == []


def test_btc_address_glued_inside_a_longer_token_is_not_reported():
    addr = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
    assert found("x" + addr + "abc", "btc") == []


def test_segwit_rules():
    assert segwit_decode("bc", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")[0] == 0
    assert segwit_decode("ltc", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4") is None


# --- LTC ----------------------------------------------------------------------------------------

LTC_VALID = [
    (b58check_encode(b"\x30" + H160), "ltc.base58"),
    (b58check_encode(b"\x32" + H160), "ltc.base58"),
    (segwit_encode("ltc", 0, H160), "ltc.bech32"),
    (segwit_encode("ltc", 1, hashlib.sha256(b"ltc").digest()), "ltc.bech32m"),
]


@pytest.mark.parametrize("addr,rule", LTC_VALID)
def test_ltc_valid_and_flipped(addr, rule):
    assert addr[0] in "LM" or addr.startswith("ltc1")
    text = f"litecoin accepted: {addr}"
    [s] = found(text, "ltc")
    assert (text[s.start:s.end], s.rule) == (addr, rule)
    assert found(text, "btc") == []
    alphabet = BECH if addr.startswith("ltc1") else B58
    assert found(text.replace(addr, flip(addr, 10, alphabet)), "ltc") == []


def test_p2sh_version_05_is_btc_unless_litecoin_is_named():
    addr = "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"
    assert [s.type for s in extract_signals(f"pay {addr}", "d")] == ["btc"]
    sigs = extract_signals(f"LTC: {addr}", "d")
    assert [(s.type, s.rule) for s in sigs] == [("ltc", "ltc.p2sh_legacy")]


# --- TRX ----------------------------------------------------------------------------------------

TRX_VALID = [
    "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",            # USDT-TRC20 contract on Tron mainnet
    b58check_encode(b"\x41" + H160),
]


@pytest.mark.parametrize("addr", TRX_VALID)
def test_trx_valid_and_flipped(addr):
    text = f"USDT TRC20 only: {addr}"
    [s] = found(text, "trx")
    assert text[s.start:s.end] == addr == s.value
    assert found(text.replace(addr, flip(addr, 5, B58)), "trx") == []
    assert found(text.replace(addr, flip(addr, 33, B58)), "trx") == []


def test_trx_needs_version_0x41():
    other = b58check_encode(b"\x42" + H160)     # valid checksum, wrong network byte
    assert found(f"usdt {other}", "trx") == []


# --- ETH ----------------------------------------------------------------------------------------

EIP55_EXAMPLES = [  # from the EIP-55 text
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]


@pytest.mark.parametrize("addr", EIP55_EXAMPLES)
def test_eth_eip55_examples(addr):
    assert eip55(addr[2:].lower()) == addr[2:]
    text = f"ETH/USDT-ERC20 {addr}."
    [s] = found(text, "eth")
    assert (text[s.start:s.end], s.value, s.rule) == (addr, addr.lower(), "eth.eip55")


@pytest.mark.parametrize("addr", EIP55_EXAMPLES)
def test_eth_mixed_case_with_wrong_checksum_is_rejected(addr):
    i = next(i for i, c in enumerate(addr) if i > 2 and c.isalpha())
    bad = addr[:i] + addr[i].swapcase() + addr[i + 1:]
    assert found(f"eth {bad}", "eth") == []


@pytest.mark.parametrize("addr", ["0x52908400098527886E0F7030069857D2E4169EE7",   # EIP-55 all caps
                                  "0xde709f2102306220921060314715629080e2fb77"])  # EIP-55 all lower
def test_eth_single_case_is_accepted_with_lower_confidence(addr):
    [s] = found(f"eth: {addr}", "eth")
    assert s.rule == "eth.unchecksummed" and s.confidence < 0.95 and s.value == addr.lower()


@pytest.mark.parametrize("bad", [
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe",     # 39 hex
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAedd",   # 41 hex
    "0x0000000000000000000000000000000000000000",    # burn address, a placeholder
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg",    # non-hex
])
def test_eth_malformed_is_rejected(bad):
    assert found(f"eth {bad}", "eth") == []


@pytest.mark.parametrize("bad", [
    "0x" + "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed" + "a1b2c3d4e5f60718293a4b5c",   # a 32-byte tx hash
    "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",                                   # no 0x
])
def test_eth_hashes_and_bare_hex_are_not_addresses(bad):
    assert found(f"eth {bad}", "eth") == []


# --- XMR ----------------------------------------------------------------------------------------

XMR_DONATION = ("44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2"
                "wfn3RVGQBEP3A")   # Monero general fund donation address (getmonero.org)


def make_xmr(prefix: int, extra: bytes = b"") -> str:
    body = bytes([prefix]) + hashlib.sha256(b"spend").digest() + hashlib.sha256(b"view").digest() + extra
    return xmr_b58encode(body + keccak256(body)[:4])


XMR_VALID = [
    (XMR_DONATION, "xmr.standard"),
    (make_xmr(18), "xmr.standard"),
    (make_xmr(42), "xmr.subaddress"),
    (make_xmr(19, b"\x11" * 8), "xmr.integrated"),
]


@pytest.mark.parametrize("addr,rule", XMR_VALID)
def test_xmr_valid_and_flipped(addr, rule):
    assert len(addr) == (106 if rule == "xmr.integrated" else 95)
    assert addr[0] == ("8" if rule == "xmr.subaddress" else "4")
    text = f"XMR preferred\n{addr}\n"
    [s] = found(text, "xmr")
    assert (text[s.start:s.end], s.value, s.rule) == (addr, addr, rule)
    for pos in (3, 50, 94):
        assert found(text.replace(addr, flip(addr, pos, B58)), "xmr") == []


def test_xmr_base58_roundtrip_and_block_overflow():
    raw = xmr_b58decode(XMR_DONATION)
    assert xmr_b58encode(raw) == XMR_DONATION and len(raw) == 69
    assert xmr_b58decode("zzzzzzzzzzz") is None     # 11 chars above 2^64: not a valid block


def test_xmr_wrong_network_byte_is_rejected():
    assert found("xmr " + make_xmr(24), "xmr") == []   # testnet prefix


def test_keccak_is_the_pre_nist_keccak_256():
    """Ethereum's Keccak-256 (not hashlib.sha3_256): the well-known digests of "" and "abc"."""
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert keccak256(b"abc").hex() == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
    assert keccak256(b"abc") != hashlib.sha3_256(b"abc").digest()
