"""The server side of NTLM over HTTP (MS-NLMP), enough for the fake Exchange server.

exchangelib logs in to Exchange Server on premises with NTLM (through requests_ntlm and
pyspnego), so the fake server checks that handshake for real: it answers the client's
NEGOTIATE message with a CHALLENGE, then verifies the NTLMv2 response in the AUTHENTICATE
message against the account's password. Signing, sealing and the MIC are not checked: HTTP
does not use them. Python's hashlib lacks MD4 under OpenSSL 3, so RFC 1320 is written out here.
"""

from __future__ import annotations

import hmac
import os
import struct
import time
from dataclasses import dataclass

SIGNATURE = b"NTLMSSP\x00"
# NEGOTIATE_UNICODE | REQUEST_TARGET | NTLM | ALWAYS_SIGN | TARGET_TYPE_DOMAIN
# | EXTENDED_SESSIONSECURITY | TARGET_INFO | VERSION | 128 | 56
_CHALLENGE_FLAGS = 0x1 | 0x4 | 0x200 | 0x8000 | 0x10000 | 0x80000 | 0x800000 | 0x2000000 \
    | 0x20000000 | 0x80000000
_WINDOWS_VERSION = bytes([10, 0]) + struct.pack("<H", 17763) + b"\x00\x00\x00\x0f"
_FILETIME_EPOCH = 116444736000000000  # 1601-01-01 to 1970-01-01 in 100 ns ticks


@dataclass(frozen=True)
class Authenticated:
    domain: str
    user: str


class NtlmAcceptor:
    """One handshake on one connection: ``challenge(negotiate)`` then ``verify(authenticate)``."""

    def __init__(self, domain: str = "EXAMPLE", computer: str = "EXCH01"):
        self.domain, self.computer = domain, computer
        self._server_challenge = b""

    def challenge(self, negotiate: bytes) -> bytes:
        if not negotiate.startswith(SIGNATURE) or _u32(negotiate, 8) != 1:
            raise ValueError("not an NTLM NEGOTIATE message")
        self._server_challenge = os.urandom(8)
        target = self.domain.encode("utf-16-le")
        info = _target_info(self.domain, self.computer)
        header_length = 56
        return b"".join([
            SIGNATURE, struct.pack("<I", 2),
            _field(len(target), header_length), struct.pack("<I", _CHALLENGE_FLAGS),
            self._server_challenge, b"\x00" * 8,
            _field(len(info), header_length + len(target)), _WINDOWS_VERSION,
            target, info,
        ])

    def verify(self, authenticate: bytes, passwords: dict[str, str]) -> Authenticated | None:
        """The user if their NTLMv2 response proves the password in ``passwords``, else None."""
        if not self._server_challenge or not authenticate.startswith(SIGNATURE) \
                or _u32(authenticate, 8) != 3:
            return None
        nt_response = _buffer(authenticate, 20)
        domain = _buffer(authenticate, 28).decode("utf-16-le")
        user = _buffer(authenticate, 36).decode("utf-16-le")
        password = _password_for(passwords, domain, user)
        if password is None or len(nt_response) <= 24:
            return None  # unknown user, or an NTLMv1 response, which Exchange refuses too
        proof, blob = nt_response[:16], nt_response[16:]
        key = hmac.digest(md4(password.encode("utf-16-le")),
                          (user.upper() + domain).encode("utf-16-le"), "md5")
        expected = hmac.digest(key, self._server_challenge + blob, "md5")
        return Authenticated(domain, user) if hmac.compare_digest(proof, expected) else None


def _password_for(passwords: dict[str, str], domain: str, user: str) -> str | None:
    """Accounts are ``user``, ``user@upn`` or ``DOMAIN\\user``; a bare name matches any domain."""
    for name, password in passwords.items():
        wanted_domain, _, wanted_user = name.rpartition("\\")
        if wanted_user.lower() == user.lower() and wanted_domain.lower() in ("", domain.lower()):
            return password
    return None


def _target_info(domain: str, computer: str) -> bytes:
    def pair(av_id: int, value: bytes) -> bytes:
        return struct.pack("<HH", av_id, len(value)) + value

    timestamp = _FILETIME_EPOCH + time.time_ns() // 100
    return b"".join([
        pair(2, domain.encode("utf-16-le")), pair(1, computer.encode("utf-16-le")),
        pair(4, f"{domain.lower()}.example".encode("utf-16-le")),
        pair(3, f"{computer.lower()}.{domain.lower()}.example".encode("utf-16-le")),
        pair(7, struct.pack("<Q", timestamp)), pair(0, b""),
    ])


def _field(length: int, offset: int) -> bytes:
    return struct.pack("<HHI", length, length, offset)


def _u32(data: bytes, offset: int) -> int:
    return struct.unpack_from("<I", data, offset)[0]


def _buffer(data: bytes, offset: int) -> bytes:
    length, _, start = struct.unpack_from("<HHI", data, offset)
    return data[start:start + length]


def md4(data: bytes) -> bytes:
    """RFC 1320 MD4, which NTLM uses for the password hash."""
    mask = 0xFFFFFFFF

    def rotate(x: int, n: int) -> int:
        x &= mask
        return ((x << n) | (x >> (32 - n))) & mask

    message = data + b"\x80" + b"\x00" * ((55 - len(data)) % 64) + struct.pack("<Q", len(data) * 8)
    h = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476]
    for offset in range(0, len(message), 64):
        x = struct.unpack("<16I", message[offset:offset + 64])
        a, b, c, d = h
        for i in (0, 4, 8, 12):  # round 1: F(x, y, z) = xy v not(x)z
            a = rotate(a + ((b & c) | (~b & d)) + x[i], 3)
            d = rotate(d + ((a & b) | (~a & c)) + x[i + 1], 7)
            c = rotate(c + ((d & a) | (~d & b)) + x[i + 2], 11)
            b = rotate(b + ((c & d) | (~c & a)) + x[i + 3], 19)
        for i in range(4):  # round 2: G(x, y, z) = xy v xz v yz
            a = rotate(a + ((b & c) | (b & d) | (c & d)) + x[i] + 0x5A827999, 3)
            d = rotate(d + ((a & b) | (a & c) | (b & c)) + x[i + 4] + 0x5A827999, 5)
            c = rotate(c + ((d & a) | (d & b) | (a & b)) + x[i + 8] + 0x5A827999, 9)
            b = rotate(b + ((c & d) | (c & a) | (d & a)) + x[i + 12] + 0x5A827999, 13)
        for i in (0, 2, 1, 3):  # round 3: H(x, y, z) = x xor y xor z
            a = rotate(a + (b ^ c ^ d) + x[i] + 0x6ED9EBA1, 3)
            d = rotate(d + (a ^ b ^ c) + x[i + 8] + 0x6ED9EBA1, 9)
            c = rotate(c + (d ^ a ^ b) + x[i + 4] + 0x6ED9EBA1, 11)
            b = rotate(b + (c ^ d ^ a) + x[i + 12] + 0x6ED9EBA1, 15)
        h = [(v + w) & mask for v, w in zip(h, (a, b, c, d), strict=True)]
    return struct.pack("<4I", *h)

