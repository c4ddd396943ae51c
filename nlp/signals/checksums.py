"""Checksum primitives the wallet, onion and PGP extractors verify candidates with.

Offline on purpose: a signal is only emitted when its checksum holds, so these functions decide
precision. Base58Check comes from `base58` and Keccak-256 from `eth-hash`; what no maintained package
covers is written here after its specification (bech32m: the PyPI `bech32` package predates BIP350;
Monero's block base58; the Tor v3 checksum; the OpenPGP armor CRC-24), and everything is tested
against the specifications' own vectors (BIP173/BIP350, EIP-55, Monero, Tor rend-spec-v3, RFC 4880).
"""
from __future__ import annotations

import base64
import hashlib

import base58
from eth_hash.auto import keccak as _keccak

# --- base58 / base58check (Bitcoin, Litecoin, Tron): the `base58` package -------------------------

B58_ALPHABET = base58.BITCOIN_ALPHABET.decode()
_B58_INDEX = {c: i for i, c in enumerate(B58_ALPHABET)}      # Monero's block encoding below


def b58check_encode(payload: bytes) -> str:
    return base58.b58encode_check(payload).decode()


def b58check_decode(text: str) -> bytes | None:
    """Payload (version byte included) when the 4-byte double-SHA256 checksum holds, else None."""
    if not text.isascii() or text.rstrip() != text:
        return None                      # (base58 would strip trailing spaces; not part of an address)
    try:
        raw = base58.b58decode_check(text)
    except ValueError:                   # a character outside the alphabet, or a bad checksum
        return None
    return raw or None                   # at least a version byte before the checksum


# --- bech32 / bech32m (BIP173, BIP350) ---------------------------------------------------------

BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_INDEX = {c: i for i, c in enumerate(BECH32_CHARSET)}
BECH32_CONST = 1
BECH32M_CONST = 0x2BC830A3


def _polymod(values) -> int:
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            if (top >> i) & 1:
                chk ^= gen[i]
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]


def bech32_decode(text: str) -> tuple[str, list[int], int] | None:
    """(hrp, data without checksum, constant) for a well-formed bech32/bech32m string, else None."""
    if text.lower() != text and text.upper() != text:
        return None  # mixed case is invalid by BIP173
    if len(text) > 90 or any(ord(c) < 33 or ord(c) > 126 for c in text):
        return None
    text = text.lower()
    pos = text.rfind("1")
    if pos < 1 or pos + 7 > len(text):
        return None
    hrp, rest = text[:pos], text[pos + 1:]
    try:
        data = [_BECH32_INDEX[c] for c in rest]
    except KeyError:
        return None
    const = _polymod(_hrp_expand(hrp) + data)
    if const not in (BECH32_CONST, BECH32M_CONST):
        return None
    return hrp, data[:-6], const


def bech32_encode(hrp: str, data: list[int], const: int) -> str:
    values = _hrp_expand(hrp) + data
    mod = _polymod(values + [0] * 6) ^ const
    checksum = [(mod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH32_CHARSET[d] for d in data + checksum)


def convertbits(data, frombits: int, tobits: int, pad: bool = True) -> list[int] | None:
    acc = bits = 0
    out = []
    maxv = (1 << tobits) - 1
    for value in data:
        if value < 0 or value >> frombits:
            return None
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits or ((acc << (tobits - bits)) & maxv):
        return None
    return out


def segwit_decode(hrp: str, addr: str) -> tuple[int, bytes] | None:
    """(witness version, program) of a valid segwit address for `hrp` (BIP173 + BIP350 rules)."""
    dec = bech32_decode(addr)
    if dec is None or dec[0] != hrp or not dec[1]:
        return None
    _, data, const = dec
    version = data[0]
    prog = convertbits(data[1:], 5, 8, pad=False)
    if prog is None or not 2 <= len(prog) <= 40 or version > 16:
        return None
    if version == 0 and len(prog) not in (20, 32):
        return None
    if (version == 0) != (const == BECH32_CONST):
        return None  # v0 must use bech32, v1+ must use bech32m
    return version, bytes(prog)


def segwit_encode(hrp: str, version: int, program: bytes) -> str:
    const = BECH32_CONST if version == 0 else BECH32M_CONST
    return bech32_encode(hrp, [version] + convertbits(program, 8, 5), const)


# --- Keccak-256 (Ethereum, Monero): the pre-NIST padding, NOT hashlib.sha3_256 ----------------

def keccak256(data: bytes) -> bytes:
    """Keccak-256 from `eth-hash` (its pycryptodome backend: C code)."""
    return _keccak(data)


# --- Monero base58 (8-byte blocks -> 11 characters) --------------------------------------------

_XMR_FULL_BLOCK = 8
_XMR_ENC_SIZES = [0, 2, 3, 5, 6, 7, 9, 10, 11]


def xmr_b58decode(text: str) -> bytes | None:
    full, rem = divmod(len(text), 11)
    if rem not in _XMR_ENC_SIZES:
        return None
    out = bytearray()
    chunks = [(text[i * 11:(i + 1) * 11], _XMR_FULL_BLOCK) for i in range(full)]
    if rem:
        chunks.append((text[full * 11:], _XMR_ENC_SIZES.index(rem)))
    for chunk, size in chunks:
        n = 0
        for c in chunk:
            v = _B58_INDEX.get(c)
            if v is None:
                return None
            n = n * 58 + v
        if n >> (8 * size):
            return None  # overflow: not a canonical encoding
        out += n.to_bytes(size, "big")
    return bytes(out)


def xmr_b58encode(data: bytes) -> str:
    out = []
    for i in range(0, len(data), _XMR_FULL_BLOCK):
        block = data[i:i + _XMR_FULL_BLOCK]
        n = int.from_bytes(block, "big")
        chars = []
        for _ in range(_XMR_ENC_SIZES[len(block)]):
            n, r = divmod(n, 58)
            chars.append(B58_ALPHABET[r])
        out.append("".join(reversed(chars)))
    return "".join(out)


# --- OpenPGP armor CRC-24 (RFC 4880 6.1) ------------------------------------------------------

def _crc24_table() -> list[int]:
    table = []
    for i in range(256):
        crc = i << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
        table.append(crc & 0xFFFFFF)
    return table


_CRC24_TABLE = _crc24_table()


def crc24(data: bytes) -> int:
    crc = 0xB704CE
    table = _CRC24_TABLE
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFF) ^ table[((crc >> 16) ^ byte) & 0xFF]
    return crc


def crc24_armor(data: bytes) -> str:
    """The armor checksum line body: base64 of the 3 CRC bytes (without the leading '=')."""
    return base64.b64encode(crc24(data).to_bytes(3, "big")).decode()


# --- Tor onion service v3 (rend-spec-v3 6) -----------------------------------------------------

def onion_v3_checksum(pubkey: bytes, version: int = 3) -> bytes:
    return hashlib.sha3_256(b".onion checksum" + pubkey + bytes([version])).digest()[:2]


def onion_v3_address(pubkey: bytes) -> str:
    raw = pubkey + onion_v3_checksum(pubkey) + b"\x03"
    return base64.b32encode(raw).decode().lower() + ".onion"


def onion_v3_valid(label: str) -> bool:
    """True when the 56-char base32 label decodes to pubkey|checksum|version 3 and the checksum holds."""
    try:
        raw = base64.b32decode(label.upper())
    except ValueError:
        return False
    if len(raw) != 35 or raw[34] != 3:
        return False
    return raw[32:34] == onion_v3_checksum(raw[:32])
