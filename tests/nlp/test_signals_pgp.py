"""PGP key blocks and fingerprints: value = the key's fingerprint, a bad armor CRC is rejected.

The two keys were generated with GnuPG 2 for these tests; gpg reported the fingerprints below,
so the fingerprint computation is checked against an independent implementation.
"""
from __future__ import annotations

import base64

import pytest

from nlp.signals import extract_signals
from nlp.signals.checksums import crc24, crc24_armor
from nlp.signals.pgp import key_fingerprint
from tests.pgp_keys import ED25519_BLOCK, ED25519_FPR, RSA_BLOCK, RSA_FPR


def keys(text):
    return [s for s in extract_signals(text, "description") if s.type == "pgp_key"]


def body_of(block: str) -> bytes:
    lines = block.splitlines()
    b64 = "".join(ln for ln in lines[1:-1] if ln and ":" not in ln and not ln.startswith("="))
    return base64.b64decode(b64)


def test_crc24_matches_the_armor_gnupg_wrote():
    assert crc24(b"") == 0xB704CE
    assert crc24_armor(body_of(ED25519_BLOCK)) == "Lo+r"
    assert crc24_armor(body_of(RSA_BLOCK)) == "UIat"


@pytest.mark.parametrize("block,fpr", [(ED25519_BLOCK, ED25519_FPR), (RSA_BLOCK, RSA_FPR)])
def test_block_value_is_the_v4_fingerprint_gpg_reports(block, fpr):
    assert key_fingerprint(body_of(block)) == (fpr, 4)
    text = f"My PGP key, encrypt your address:\n{block}\nThanks!"
    [s] = keys(text)
    assert s.value == fpr and s.rule == "pgp.block.v4"
    assert text[s.start:s.end] == block


def test_block_with_newlines_collapsed_by_the_scraper_still_parses():
    flat = " ".join(RSA_BLOCK.split())          # HTML whitespace collapse: one line, header included
    [s] = keys(f"pgp: {flat}")
    assert s.value == RSA_FPR


def test_block_with_crlf_line_endings():
    [s] = keys(ED25519_BLOCK.replace("\n", "\r\n"))
    assert s.value == ED25519_FPR


@pytest.mark.parametrize("block", [ED25519_BLOCK, RSA_BLOCK])
def test_bad_crc24_is_rejected(block):
    crc_line = next(ln for ln in block.splitlines() if ln.startswith("="))
    bad = crc_line[:-1] + ("A" if crc_line[-1] != "A" else "B")
    assert keys(block.replace(crc_line, bad)) == []


def test_corrupted_body_is_caught_by_the_crc():
    line = RSA_BLOCK.splitlines()[4]
    flipped = line[:10] + ("A" if line[10] != "A" else "B") + line[11:]
    assert keys(RSA_BLOCK.replace(line, flipped)) == []


def test_block_without_crc_line_is_accepted_at_lower_confidence():
    no_crc = "\n".join(ln for ln in ED25519_BLOCK.splitlines() if not ln.startswith("="))
    [s] = keys(no_crc)
    assert s.value == ED25519_FPR and s.confidence < 0.95


def test_truncated_and_garbage_blocks_are_not_keys():
    truncated = "\n".join(RSA_BLOCK.splitlines()[:5])            # no END line
    assert keys(truncated) == []
    garbage = "-----BEGIN PGP PUBLIC KEY BLOCK-----\nhello world\n-----END PGP PUBLIC KEY BLOCK-----"
    assert keys(garbage) == []


def test_two_blocks_and_a_dangling_begin():
    text = f"old key\n-----BEGIN PGP PUBLIC KEY BLOCK-----\n(lost)\n\nnew keys:\n{ED25519_BLOCK}\n\n{RSA_BLOCK}"
    sigs = keys(text)
    assert [s.value for s in sigs] == [ED25519_FPR, RSA_FPR]
    assert [text[s.start:s.end] for s in sigs] == [ED25519_BLOCK, RSA_BLOCK]


# --- fingerprints -------------------------------------------------------------------------------

def fprs(text):
    return [s for s in extract_signals(text, "description") if s.type == "pgp_fingerprint"]


@pytest.mark.parametrize("surface", [
    "D972 A9DE A526 31F5 2B96  B6D5 9EE4 11AB 5F06 C286",   # gpg --fingerprint layout
    "d972 a9de a526 31f5 2b96 b6d5 9ee4 11ab 5f06 c286",
])
def test_grouped_fingerprint(surface):
    text = f"Key fingerprint = {surface}\n"
    [s] = fprs(text)
    assert s.value == ED25519_FPR and text[s.start:s.end] == surface


def test_grouped_fingerprint_without_context_is_kept_at_lower_confidence():
    [s] = fprs("verify D972 A9DE A526 31F5 2B96 B6D5 9EE4 11AB 5F06 C286 before ordering")
    assert s.confidence < 0.95


def test_plain_40_hex_needs_a_fingerprint_word():
    assert [s.value for s in fprs(f"PGP fingerprint: {RSA_FPR.lower()}")] == [RSA_FPR]
    assert fprs(f"sha1 {RSA_FPR.lower()}") == []                  # a hash is not a key


@pytest.mark.parametrize("bad", [
    "D972 A9DE A526 31F5 2B96 B6D5 9EE4 11AB 5F06",               # 9 groups
    "D972 A9DE A526 31F5 2B96 B6D5 9EE4 11AB 5F06 C286 1234",     # 11 groups
    "D972 A9DE A526 31F5 2B96 B6D5 9EE4 11AB 5F06 C28G",          # not hex
    "0000 0000 0000 0000 0000 0000 0000 0000 0000 0000",          # placeholder
    "1234 5678 9012 3456 7890 1234 5678 9012 3456 7890",          # digits only: a number, not SHA-1
])
def test_malformed_fingerprints_are_rejected(bad):
    assert fprs(f"PGP fingerprint: {bad}") == []


def test_eth_address_is_not_a_fingerprint():
    assert fprs("pgp 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed") == []


def test_block_and_quoted_fingerprint_link_to_the_same_value():
    """An investigator links a key block on one market to a fingerprint quoted on another."""
    market_a = keys(f"my key:\n{RSA_BLOCK}")
    market_b = fprs("verify my fingerprint: E1A6 A810 6965 D8C6 0770  E731 76A8 B21E 4297 4C87")
    assert market_a[0].value == market_b[0].value == RSA_FPR
