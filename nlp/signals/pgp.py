"""PGP public key blocks and fingerprints: the strongest cross-market vendor identity.

A block's value is the primary key's fingerprint (uppercase hex), computed from its first packet
(v4: SHA-1 over 0x99 + 2-byte length + key packet body; v5/v6: SHA-256 with 0x9A/0x9B + 4-byte
length), so a block in one listing links to a fingerprint quoted in another. A block whose armor
CRC-24 line does not match is rejected. Scraped pages often collapse newlines, so the armor is
parsed line-wise when it has lines and token-wise otherwise.

A fingerprint counts in gpg's 10 groups of 4 hex digits, or as 40 contiguous hex digits with a
"fingerprint"/"pgp"/"gpg" word just before it.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Iterator

from . import Hit, signal
from .checksums import crc24
from .windows import ascii_bytes, hex_view, lowered, near

BEGIN = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
END = "-----END PGP PUBLIC KEY BLOCK-----"
MAX_BLOCK = 1 << 20          # a key block larger than 1 MB is not a key, it is a size bomb
_B64_TOKEN = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_CRC_TOKEN = re.compile(r"=[A-Za-z0-9+/]{4}")
_HEADER_LINE = re.compile(r"[A-Za-z][A-Za-z0-9-]*:\s")


def _split_armor(inner: str) -> tuple[list[list[str]], str | None]:
    """Candidate base64 bodies (most likely first) and the CRC token, if any."""
    if "\n" in inner:
        lines = [ln.strip() for ln in inner.splitlines()]
        lines = [ln for ln in lines if ln]
        while lines and _HEADER_LINE.match(lines[0]):
            lines.pop(0)
        tokens = lines
    else:
        tokens = inner.split()
    crc = None
    if tokens and _CRC_TOKEN.fullmatch(tokens[-1]):
        crc = tokens.pop()[1:]
    elif tokens and len(tokens[-1]) > 5 and _CRC_TOKEN.fullmatch(tokens[-1][-5:]) \
            and not tokens[-1].endswith("=="):
        # newline lost between the last body line and "=XXXX": "...tQVZtwE==Lo+r"
        last = tokens.pop()
        tokens.append(last[:-5])
        crc = last[-4:]
    # the body is the trailing run of pure base64 tokens; a collapsed header ("Comment: GPGTools")
    # may leak a base64-looking word in front, so the first few start points are all candidates
    start = len(tokens)
    while start > 0 and _B64_TOKEN.fullmatch(tokens[start - 1]):
        start -= 1
    bodies = [tokens[i:] for i in range(start, min(len(tokens), start + 4))]
    return bodies, crc


def _first_packet(data: bytes) -> tuple[int, bytes] | None:
    """(tag, body) of the first OpenPGP packet (RFC 4880 4.2, old and new formats)."""
    if len(data) < 2 or not data[0] & 0x80:
        return None
    b = data[0]
    if b & 0x40:                                   # new format
        tag = b & 0x3F
        o1 = data[1]
        if o1 < 192:
            length, off = o1, 2
        elif o1 < 224:
            if len(data) < 3:
                return None
            length, off = ((o1 - 192) << 8) + data[2] + 192, 3
        elif o1 == 255:
            length, off = int.from_bytes(data[2:6], "big"), 6
        else:
            return None                            # partial body lengths never start a key packet
    else:                                          # old format
        tag = (b >> 2) & 0x0F
        ltype = b & 3
        if ltype == 3:
            return None
        n = (1, 2, 4)[ltype]
        length, off = int.from_bytes(data[1:1 + n], "big"), 1 + n
    body = data[off:off + length]
    if len(body) != length:
        return None
    return tag, body


def key_fingerprint(data: bytes) -> tuple[str, int] | None:
    """(uppercase hex fingerprint, key version) of the primary public key packet, else None."""
    pkt = _first_packet(data)
    if pkt is None or pkt[0] != 6 or not pkt[1]:
        return None
    body = pkt[1]
    version = body[0]
    if version == 4:
        return hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest().upper(), 4
    if version in (5, 6):
        prefix = b"\x9a" if version == 5 else b"\x9b"
        return hashlib.sha256(prefix + len(body).to_bytes(4, "big") + body).hexdigest().upper(), version
    return None


def parse_armored_key(inner: str) -> tuple[str, str, float] | None:
    """(value, rule, confidence) for the armor between BEGIN and END, None when it is not a key."""
    bodies, crc = _split_armor(inner)
    fallback = None
    for tokens in bodies:
        b64 = "".join(tokens)
        try:
            data = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            continue
        if crc is not None:
            if base64.b64encode(crc24(data).to_bytes(3, "big")).decode() != crc:
                continue
        fp = key_fingerprint(data)
        if fp is not None:
            conf = 0.95 if crc is not None else 0.85
            return fp[0], f"pgp.block.v{fp[1]}", conf
        if fallback is None and data and (crc is not None or len(data) >= 64):
            fallback = ("sha256:" + hashlib.sha256(b64.encode()).hexdigest(), "pgp.block.unparsed", 0.6)
    return fallback


@signal("pgp_key", needles=("-----begin pgp public key block-----",))
def find_pgp_blocks(text: str) -> Iterator[Hit]:
    pos = 0
    while True:
        b = text.find(BEGIN, pos)
        if b < 0:
            return
        e = text.find(END, b)
        if e < 0:
            return
        b = text.rfind(BEGIN, b, e)               # the nearest BEGIN: a truncated block is skipped
        pos = e + len(END)
        if e - b > MAX_BLOCK:
            continue
        parsed = parse_armored_key(text[b + len(BEGIN):e])
        if parsed:
            yield b, pos, parsed[0], parsed[1], parsed[2]


_HEX = "0-9A-Fa-f"
# open with a bare character class so sre scans fast for candidates; the left edge is checked in
# Python (a match preceded by a hex digit is part of a longer run, so no valid match is skipped)
_GROUPED = re.compile(rf"[{_HEX}]{{4}}(?:[ \u00a0]{{1,2}}[{_HEX}]{{4}}){{9}}"
                      rf"(?![{_HEX}]|[ \u00a0]{{1,2}}[{_HEX}]{{4}}(?![0-9A-Za-z]))")
_PLAIN = re.compile(r"[0-9A-Fa-f](?<![0-9A-Za-z][0-9A-Fa-f])[0-9A-Fa-f]{39}(?![0-9A-Za-z])")
_GROUP_BEFORE = re.compile(rf"[{_HEX}]\Z|(?<![0-9A-Za-z])[{_HEX}]{{4}}[ \u00a0]{{1,2}}\Z")
_FPR_NEEDLES = ("finger", "fpr", "pgp", "gpg", "指纹", "huella", "отпечат")
_FPR_WORD = re.compile(r"(?i)finger\s?print|\bfpr\b|\bpgp\b|\bgpg\b|openpgp|指纹|huella|отпечат")


def _plausible(hex40: str) -> bool:
    """A SHA-1 output has many distinct digits and letters; placeholders and numbers do not."""
    return len(set(hex40.upper())) >= 8 and not hex40.isdigit()


# gpg's groups are hex quads one or two spaces (or no-break spaces) apart: on a view where hex is
# "h", a space or any non-ASCII character is " ", and double spaces are collapsed, a grouped
# fingerprint shows four quads in a row (a phone number "138 0013 8000" does not)
_QUAD_VIEW = bytes(0x68 if chr(c) in "0123456789ABCDEFabcdef" else 0x20 if c in (0x20, 0x3F) else 0x2E
                   for c in range(256))
_FOUR_QUADS = b"hhhh hhhh hhhh hhhh"
_HEX40 = b"h" * 40


def _may_be_grouped(text: str) -> bool:
    return _FOUR_QUADS in ascii_bytes(text).translate(_QUAD_VIEW).replace(b"  ", b" ")


@signal("pgp_fingerprint", needles=tuple("0123456789abcdef"))
def find_fingerprints(text: str) -> Iterator[Hit]:
    if len(text) < 40:
        return                            # shorter than 40 hex digits
    view = hex_view(text)
    for m in (_GROUPED.finditer(text) if _may_be_grouped(text) else ()):
        if _GROUP_BEFORE.search(text, max(0, m.start() - 7), m.start()):
            continue                      # an 11th group in front: not a 10-group fingerprint
        fpr = re.sub(r"\s", "", m.group()).upper()
        if _plausible(fpr):
            ctx = near(text, m.start(), m.end(), _FPR_WORD, 60, 0)
            yield m.start(), m.end(), fpr, "pgp.fingerprint.grouped", 0.95 if ctx else 0.85
    if _HEX40 not in view:
        return                            # no run of 40 hex digits
    low = lowered(text)
    if not any(w in low for w in _FPR_NEEDLES):
        return
    for m in _PLAIN.finditer(text):
        if _plausible(m.group()) and near(text, m.start(), m.end(), _FPR_WORD, 60, 0):
            yield m.start(), m.end(), m.group().upper(), "pgp.fingerprint.context", 0.9
