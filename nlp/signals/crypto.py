"""Cryptocurrency addresses, emitted only when the address checksum verifies.

BTC: base58check P2PKH (version 0x00, "1...") and P2SH (0x05, "3..."); segwit bech32 v0 (BIP173) and
bech32m v1+ (BIP350) with hrp "bc". LTC: base58check 0x30 ("L...") and 0x32 ("M..."), "ltc1"
segwit; a 0x05 "3..." address is shared by both chains and is reported as LTC only when "ltc" or
"litecoin" is written nearby, else as BTC. TRX (incl. USDT-TRC20): base58check 0x41 ("T...").
ETH: 0x + 40 hex; mixed case must satisfy EIP-55 (keccak-256), single-case is accepted as
unchecksummed with lower confidence. XMR: Monero base58 (8-byte blocks), network byte 18
(standard, "4..."), 19 (integrated, 106 chars) or 42 (subaddress, "8..."), checksum = first
4 bytes of keccak-256 of the decoded body.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterator

from . import Hit, signal
from .checksums import b58check_decode as _b58check_decode, keccak256, segwit_decode as _segwit_decode, \
    xmr_b58decode
from .windows import base58_view, lowered, near, occurrences, per_text

_B58 = "1-9A-HJ-NP-Za-km-z"
# A maximal run of base58 characters of address length: 25-35 (BTC/LTC/TRX) or 95/106 (XMR).
_BASE58_RUN = re.compile(rf"(?<![{_B58}])[{_B58}]{{25,106}}(?![{_B58}])")
_BECH32_RUN = re.compile(r"(?<![0-9A-Za-z])(?:bc|ltc)1[02-9ac-hj-np-z]{6,87}(?![0-9A-Za-z])", re.I)
_ETH = re.compile(r"(?<![0-9A-Za-z])0[xX][0-9a-fA-F]{40}(?![0-9A-Za-z])")
_LTC_WORD = re.compile(r"\b(?:ltc|litecoin)\b", re.I)


_B58_MIN = b"b" * 25

# A vendor repeats the same wallet across hundreds of listings: each distinct address is verified
# once (the checks are pure functions of the address; keys are at most 106 characters).
b58check_decode = lru_cache(maxsize=8192)(_b58check_decode)
segwit_decode = lru_cache(maxsize=8192)(_segwit_decode)


@per_text   # shared by the BTC, LTC, TRX and XMR finders of one extract_signals call
def _all_base58_runs(text: str) -> tuple[tuple[int, int, str], ...]:
    """What _BASE58_RUN finds: every maximal base58 run of 25-106 characters, read off base58_view
    (base58 is ASCII, so the view's runs are the text's runs, at the same offsets)."""
    if len(text) < 25:
        return ()                          # a title too short to hold an address
    view = base58_view(text)
    if _B58_MIN not in view:
        return ()
    runs = []
    i = view.find(_B58_MIN)
    while i >= 0:
        end = view.find(b" ", i)
        end = len(view) if end < 0 else end
        if end - i <= 106:                 # i is a run start: the search resumes after each run
            runs.append((i, end, text[i:end]))
        i = view.find(_B58_MIN, end)
    return tuple(runs)


@per_text
def _bech32_runs(text: str) -> tuple[re.Match, ...]:
    """What _BECH32_RUN.finditer finds (shared by BTC and LTC): a match starts with "bc1" or "ltc1"
    in any case, so when lower() keeps offsets the regex is only tried where lowered(text) has one."""
    low = lowered(text)
    if len(low) != len(text):
        return tuple(_BECH32_RUN.finditer(text))
    starts = sorted(occurrences(low, "bc1") + occurrences(low, "ltc1"))
    out, end = [], 0
    for i in starts:
        if i >= end and (m := _BECH32_RUN.match(text, i)):
            out.append(m)
            end = m.end()
    return tuple(out)


def _base58_runs(text: str, first: str, lengths: range | tuple) -> Iterator[tuple[int, int, str]]:
    for run in _all_base58_runs(text):
        if run[2][0] in first and len(run[2]) in lengths:
            yield run


@signal("btc", needles=("1", "3", "bc1"))
def find_btc(text: str) -> Iterator[Hit]:
    for start, end, addr in _base58_runs(text, "13", range(26, 36)):
        payload = b58check_decode(addr)
        if payload is None or len(payload) != 21:
            continue
        if payload[0] == 0x00:
            yield start, end, addr, "btc.p2pkh", 0.95
        elif payload[0] == 0x05 and not near(text, start, end, _LTC_WORD, 40, 20):
            yield start, end, addr, "btc.p2sh", 0.95
    if "bc1" in lowered(text) and ("bc1" in text or "BC1" in text):
        for m in _bech32_runs(text):
            addr = m.group().lower()
            if addr.startswith("bc1") and (dec := segwit_decode("bc", m.group())):
                yield m.start(), m.end(), addr, "btc.bech32" if dec[0] == 0 else "btc.bech32m", 0.95


@signal("ltc", needles=("l", "m", "3", "ltc1"))
def find_ltc(text: str) -> Iterator[Hit]:
    for start, end, addr in _base58_runs(text, "LM3", range(26, 36)):
        payload = b58check_decode(addr)
        if payload is None or len(payload) != 21:
            continue
        if payload[0] in (0x30, 0x32):
            yield start, end, addr, "ltc.base58", 0.95
        elif payload[0] == 0x05 and near(text, start, end, _LTC_WORD, 40, 20):
            yield start, end, addr, "ltc.p2sh_legacy", 0.8
    if "ltc1" in lowered(text) and ("ltc1" in text or "LTC1" in text):
        for m in _bech32_runs(text):
            addr = m.group().lower()
            if addr.startswith("ltc1") and (dec := segwit_decode("ltc", m.group())):
                yield m.start(), m.end(), addr, "ltc.bech32" if dec[0] == 0 else "ltc.bech32m", 0.95


@signal("trx", needles=("t",))
def find_trx(text: str) -> Iterator[Hit]:
    for start, end, addr in _base58_runs(text, "T", (34,)):
        payload = b58check_decode(addr)
        if payload is not None and len(payload) == 21 and payload[0] == 0x41:
            yield start, end, addr, "trx.base58check", 0.95


@lru_cache(maxsize=8192)
def eip55(address_hex: str) -> str:
    """The EIP-55 mixed-case form of 40 hex digits (no 0x)."""
    lower = address_hex.lower()
    digest = keccak256(lower.encode("ascii")).hex()
    return "".join(c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c for i, c in enumerate(lower))


def _eth_matches(text: str) -> Iterator[re.Match]:
    """What _ETH.finditer yields: a match starts at "0x"/"0X" and two cannot overlap (each is one
    alphanumeric run), so the regex is only tried at those."""
    starts = occurrences(text, "0x")
    if "X" in text and "0X" in text:
        starts = sorted(starts + occurrences(text, "0X"))
    for i in starts:
        if m := _ETH.match(text, i):
            yield m


@signal("eth", needles=("0x",))
def find_eth(text: str) -> Iterator[Hit]:
    for m in _eth_matches(text):
        body = m.group()[2:]
        if len(set(body.lower())) < 4:
            continue  # the zero/burn address and other placeholders are not a vendor's wallet
        if body == body.lower() or body == body.upper():
            yield m.start(), m.end(), "0x" + body.lower(), "eth.unchecksummed", 0.8
        elif eip55(body) == body:
            yield m.start(), m.end(), "0x" + body.lower(), "eth.eip55", 0.95


_XMR_PREFIXES = {18: ("xmr.standard", 69), 19: ("xmr.integrated", 77), 42: ("xmr.subaddress", 69)}


@lru_cache(maxsize=4096)
def _xmr_rule(addr: str) -> str | None:
    """The rule of a valid Monero address (network byte, length and keccak checksum), else None."""
    raw = xmr_b58decode(addr)
    if raw is None:
        return None
    kind = _XMR_PREFIXES.get(raw[0])
    if kind is None or len(raw) != kind[1]:
        return None
    return kind[0] if keccak256(raw[:-4])[:4] == raw[-4:] else None


@signal("xmr", needles=("4", "8"))
def find_xmr(text: str) -> Iterator[Hit]:
    for start, end, addr in _base58_runs(text, "48", (95, 106)):
        if rule := _xmr_rule(addr):
            yield start, end, addr, rule, 0.95
