"""ISO 8583 messages on the card host's TCP connections, with ``pyiso8583``.

The field specification is pyiso8583's ``default_ascii``: every field in ASCII, bitmaps as
16 hexadecimal characters, variable fields with ASCII length prefixes (LLVAR, LLLVAR), no
header. Each message travels in a frame: a 2-byte big-endian length, then the message. The
layout, field by field, is documented in ``docs/card-host.md``.

Fixed fields are padded as ISO 8583 pads them: numeric ones with leading zeros (DE4, DE11),
alphanumeric ones with trailing spaces (DE41, DE42), which the reader strips.
"""

from __future__ import annotations

import socket
import struct
from typing import Any

import iso8583
from iso8583.specs import default_ascii

from dongne.domain.cards import CardMessageInvalid, CardRequest

SPEC: dict[str, dict[str, Any]] = default_ascii
FRAME_HEADER = struct.Struct(">H")
MESSAGE_MAX_BYTES = 4096
"""A frame longer than this is no card message: the connection is closed."""

Fields = dict[str, str]
"""A decoded message: ``"t"`` its type, ``"2"``… its data elements (pyiso8583's keys)."""

ECHOED = ("3", "4", "7", "11", "12", "13", "18", "37", "41", "42", "49", "70", "90")
"""The request's fields a response repeats (never the PAN)."""


def encode(fields: Fields) -> bytes:
    try:
        raw, _ = iso8583.encode(dict(fields), SPEC)  # it adds the bitmap to the dict it is given
    except iso8583.EncodeError as error:
        raise CardMessageInvalid(f"cannot encode the message: {error}") from error
    return bytes(raw)


def decode(raw: bytes) -> Fields:
    try:
        decoded, _ = iso8583.decode(raw, SPEC)
    except iso8583.DecodeError as error:
        raise CardMessageInvalid(f"not an ISO 8583 message: {error}") from error
    return {key: value for key, value in decoded.items() if key not in {"p", "1"}}


def frame(message: bytes) -> bytes:
    return FRAME_HEADER.pack(len(message)) + message


def read_frame(connection: socket.socket) -> bytes | None:
    """One framed message from a blocking socket; None when the peer has closed it."""
    header = _read_exactly(connection, FRAME_HEADER.size)
    if header is None:
        return None
    (length,) = FRAME_HEADER.unpack(header)
    return _read_exactly(connection, length)


def _read_exactly(connection: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = connection.recv(size - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


REQUIRED = ("2", "3", "4", "11", "12", "13", "18", "37", "41", "42", "49")


def card_request(fields: Fields) -> CardRequest:
    """What the host decides on, read from an 0100, 0200 or 0400. A reversal names its
    original by DE90 (original type, STAN, transmission time…) when it carries one, else by
    its own DE11, as many acquirers repeat the original's STAN."""
    missing = [number for number in REQUIRED if not fields.get(number)]
    if missing:
        raise CardMessageInvalid(f"the message lacks DE{', DE'.join(missing)}", missing=missing)
    amount = fields["4"]
    if not amount.isdigit():
        raise CardMessageInvalid("DE4 (the amount) is digits only")
    stan = fields["11"]
    original = fields.get("90", "")
    if fields["t"] == "0400" and len(original) >= 10 and original[4:10].isdigit():
        stan = original[4:10]
    return CardRequest(
        message_type=fields["t"],
        pan=fields["2"],
        processing_code=fields["3"],
        amount_won=int(amount),
        stan=stan,
        local_time=fields["13"] + fields["12"],
        mcc=fields["18"],
        rrn=fields["37"].strip(),
        terminal_id=fields["41"].strip(),
        acceptor_id=fields["42"].strip(),
        currency=fields["49"],
    )


def response(request: Fields, response_code: str, *, approval_code: str | None = None) -> Fields:
    """The answer to ``request``: its response type, the fields it repeats, DE39 and DE38."""
    answer = {"t": response_type(request.get("t", ""))}
    answer |= {number: request[number] for number in ECHOED if request.get(number)}
    answer["39"] = response_code
    if approval_code:
        answer["38"] = approval_code
    return answer


def response_type(message_type: str) -> str:
    """A request's response type: its third digit plus one (0100 → 0110, 0400 → 0410)."""
    if len(message_type) == 4 and message_type.isdigit() and int(message_type[2]) % 2 == 0:
        return message_type[:2] + str(int(message_type[2]) + 1) + message_type[3]
    return "0810"
