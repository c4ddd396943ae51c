"""Independent checks of the identifiers in fixture content, written from the specifications (CAS check digit,
Base58Check and bech32 for BTC, Monero's Keccak-checksummed Base58, onion v3, OpenPGP armor CRC-24 and v4
fingerprint), so the analyzer's extractors are tested against data that is valid in the real world."""
from __future__ import annotations

import base64
import hashlib
import struct


def cas_valid(cas: str) -> bool:
    from nlp.kb import cas_valid as kb_cas_valid
    return kb_cas_valid(cas)


B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def btc_valid(addr: str) -> bool:
    if addr.lower().startswith("bc1"):
        return bech32_valid(addr)
    n = 0
    for ch in addr:
        n = n * 58 + B58.index(ch)
    raw = n.to_bytes(25, "big")
    return raw[0] in (0, 5) and hashlib.sha256(hashlib.sha256(raw[:21]).digest()).digest()[:4] == raw[21:]


def bech32_valid(addr: str) -> bool:
    charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
    hrp, data = addr.lower().rsplit("1", 1)
    values = [charset.index(c) for c in data]
    chk = 1
    for v in [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp] + values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i, g in enumerate((0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)):
            chk ^= g if (top >> i) & 1 else 0
    return hrp == "bc" and values[0] == 0 and chk == 1   # witness v0 uses bech32 (constant 1)


def keccak256(data: bytes) -> bytes:
    """Original Keccak (Monero's cn_fast_hash), not NIST SHA3: different padding byte."""
    rc = [0x1, 0x8082, 0x800000000000808A, 0x8000000080008000, 0x808B, 0x80000001, 0x8000000080008081,
          0x8000000000008009, 0x8A, 0x88, 0x80008009, 0x8000000A, 0x8000808B, 0x800000000000008B,
          0x8000000000008089, 0x8000000000008003, 0x8000000000008002, 0x8000000000000080, 0x800A,
          0x800000008000000A, 0x8000000080008081, 0x8000000000008080, 0x80000001, 0x8000000080008008]
    rot = [[0, 36, 3, 41, 18], [1, 44, 10, 45, 2], [62, 6, 43, 15, 61], [28, 55, 25, 21, 56], [27, 20, 39, 8, 14]]
    mask = (1 << 64) - 1

    def rol(x, n):
        return ((x << n) | (x >> (64 - n))) & mask if n else x

    rate = 136
    msg = bytearray(data) + b"\x01"
    msg += b"\x00" * (-len(msg) % rate)
    msg[-1] |= 0x80
    a = [[0] * 5 for _ in range(5)]
    for off in range(0, len(msg), rate):
        for i in range(rate // 8):
            a[i % 5][i // 5] ^= int.from_bytes(msg[off + 8 * i: off + 8 * i + 8], "little")
        for r in rc:
            c = [a[x][0] ^ a[x][1] ^ a[x][2] ^ a[x][3] ^ a[x][4] for x in range(5)]
            d = [c[(x - 1) % 5] ^ rol(c[(x + 1) % 5], 1) for x in range(5)]
            a = [[a[x][y] ^ d[x] for y in range(5)] for x in range(5)]
            b = [[0] * 5 for _ in range(5)]
            for x in range(5):
                for y in range(5):
                    b[y][(2 * x + 3 * y) % 5] = rol(a[x][y], rot[x][y])
            a = [[b[x][y] ^ (~b[(x + 1) % 5][y] & b[(x + 2) % 5][y]) for y in range(5)] for x in range(5)]
            a[0][0] ^= r
    return b"".join(a[i % 5][i // 5].to_bytes(8, "little") for i in range(4))


def xmr_valid(addr: str) -> bool:
    sizes = {2: 1, 3: 2, 5: 3, 6: 4, 7: 5, 9: 6, 10: 7, 11: 8}
    raw = b""
    for i in range(0, len(addr), 11):
        block, n = addr[i:i + 11], 0
        for ch in block:
            n = n * 58 + B58.index(ch)
        raw += n.to_bytes(sizes[len(block)], "big")
    return len(raw) == 69 and raw[0] == 18 and keccak256(raw[:65])[:4] == raw[65:]


def onion_v3_valid(host: str) -> bool:
    label = host.removesuffix(".onion")
    raw = base64.b32decode(label.upper())
    pub, chk, ver = raw[:32], raw[32:34], raw[34]
    return len(label) == 56 and ver == 3 and hashlib.sha3_256(b".onion checksum" + pub + b"\x03").digest()[:2] == chk


def crc24(data: bytes) -> int:
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def pgp_block_facts(block: str) -> tuple[bool, str]:
    """(armor checksum ok, v4 fingerprint of the primary key) of an ASCII-armored public key block."""
    lines = block.strip().splitlines()
    assert lines[0] == "-----BEGIN PGP PUBLIC KEY BLOCK-----" and lines[-1] == "-----END PGP PUBLIC KEY BLOCK-----"
    body = lines[lines.index("") + 1:-1]
    checksum = body.pop() if body[-1].startswith("=") else None
    data = base64.b64decode("".join(body))
    crc_ok = checksum is not None and base64.b64decode(checksum[1:]) == crc24(data).to_bytes(3, "big")
    tag = data[0]
    assert tag & 0x80, "not an OpenPGP packet"
    if tag & 0x40:                   # new format: tag 6, one-octet length (< 192) for ed25519 keys
        assert tag & 0x3F == 6 and data[1] < 192
        length, start = data[1], 2
    else:                            # old format: tag 6 with a one-octet length
        assert (tag >> 2) & 0x0F == 6 and tag & 3 == 0
        length, start = data[1], 2
    packet = data[start:start + length]
    assert packet[0] == 4, "v4 key"
    fpr = hashlib.sha1(b"\x99" + struct.pack(">H", length) + packet).hexdigest().upper()
    return crc_ok, fpr
