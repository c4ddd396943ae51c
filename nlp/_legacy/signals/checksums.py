"""The hand-written Base58Check and the direct pycryptodome Keccak-256 that issue 13 replaced with the
base58 and eth-hash packages; the other checksums did not change (nlp.signals.checksums)."""
from __future__ import annotations

import hashlib

from Crypto.Hash import keccak as _keccak_c

from nlp.signals.checksums import segwit_decode, xmr_b58decode  # noqa: F401  (unchanged, for crypto.py)

# --- base58 / base58check (Bitcoin, Litecoin, Tron) --------------------------------------------

B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(B58_ALPHABET)}


def b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, r = divmod(n, 58)
        out.append(B58_ALPHABET[r])
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + "".join(reversed(out))


def b58decode(text: str) -> bytes | None:
    """Decode base58; None when a character is outside the alphabet."""
    n = 0
    for c in text:
        v = _B58_INDEX.get(c)
        if v is None:
            return None
        n = n * 58 + v
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    pad = len(text) - len(text.lstrip("1"))
    return b"\0" * pad + body


def _dsha256(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def b58check_encode(payload: bytes) -> str:
    return b58encode(payload + _dsha256(payload)[:4])


def b58check_decode(text: str) -> bytes | None:
    """Payload (version byte included) when the 4-byte double-SHA256 checksum holds, else None."""
    raw = b58decode(text)
    if raw is None or len(raw) < 5:
        return None
    payload, check = raw[:-4], raw[-4:]
    return payload if _dsha256(payload)[:4] == check else None


def keccak256(data: bytes) -> bytes:
    return _keccak_c.new(digest_bits=256, data=data).digest()
