"""The SSH wire encoding (RFC 4251 §5) that keys and SSHSIG signatures are made of.

Only what signing needs: a ``string`` is a big-endian uint32 length followed by that many bytes.
A reader that runs out of bytes raises ``Truncated`` so callers can say "truncated" rather than
"garbled"; every other inconsistency is theirs to name.
"""

from __future__ import annotations

import struct


class Truncated(ValueError):
    """The data ended before a length it announced."""


def string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def uint32(value: int) -> bytes:
    return struct.pack(">I", value)


class WireReader:
    """Read SSH wire values from a byte string, front to back."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def raw(self, n: int) -> bytes:
        end = self._pos + n
        if end > len(self._data):
            raise Truncated(f"wanted {n} bytes at offset {self._pos}, {len(self._data) - self._pos} left")
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def uint32(self) -> int:
        value: int = struct.unpack(">I", self.raw(4))[0]
        return value

    def string(self) -> bytes:
        return self.raw(self.uint32())

    def text(self) -> str:
        """A name (algorithm, namespace); undecodable bytes become U+FFFD so a mismatch can still be named."""
        return self.string().decode("utf-8", errors="replace")

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos
