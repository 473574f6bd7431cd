"""`fallback.wsengine.frames`: parsing what clients send, serializing what servers send."""

from __future__ import annotations

import pytest

from fallback.codes import is_valid_close_code
from fallback.wsengine import CloseCode, InvalidPayload, Opcode, PayloadTooBig, ProtocolError
from fallback.wsengine.frames import (
    FrameReader,
    HixieReader,
    Item,
    close_payload,
    encode_frame,
    hixie_text_frame,
    parse_close,
    text_frame,
    unmask,
)

MASK = b"\x37\xfa\x21\x3d"


def frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bytes | None = MASK) -> bytes:
    return encode_frame(opcode, payload, fin=fin, mask=mask)


def parse(data: bytes, reader: FrameReader | None = None) -> list[Item]:
    out: list[Item] = []
    (reader or FrameReader()).feed(data, out)
    return out


def parse_bytewise(data: bytes, reader: FrameReader | None = None) -> list[Item]:
    reader = reader or FrameReader()
    out: list[Item] = []
    for i in range(len(data)):
        reader.feed(data[i : i + 1], out)
    return out


# -- masking and serializing ------------------------------------------------------------


def test_unmask_matches_the_rfc_example():
    # RFC 6455 section 5.7: a masked "Hello".
    assert unmask(bytes.fromhex("7f9f4d5158"), bytes.fromhex("37fa213d")) == b"Hello"


@pytest.mark.parametrize("n", [0, 1, 3, 4, 5, 125, 126, 65535, 65536, 100_001])
def test_unmask_is_its_own_inverse_for_any_length(n):
    data = bytes(range(256)) * (n // 256 + 1)
    data = data[:n]
    assert unmask(unmask(data, MASK), MASK) == data
    assert unmask(data, MASK) == bytes(b ^ MASK[i % 4] for i, b in enumerate(data))


@pytest.mark.parametrize(
    ("n", "head"),
    [
        (0, b"\x81\x00"),
        (125, b"\x81\x7d"),
        (126, b"\x81\x7e\x00\x7e"),
        (65535, b"\x81\x7e\xff\xff"),
        (65536, b"\x81\x7f" + (65536).to_bytes(8, "big")),
    ],
)
def test_text_frame_uses_the_shortest_length_encoding(n, head):
    data = text_frame(b"x" * n)
    assert data == head + b"x" * n
    assert encode_frame(Opcode.TEXT, b"x" * n) == data


def test_rfc_examples_serialize_exactly():
    assert text_frame(b"Hello") == bytes.fromhex("810548656c6c6f")
    assert frame(Opcode.TEXT, b"Hello") == bytes.fromhex("818537fa213d7f9f4d5158")
    assert encode_frame(Opcode.TEXT, b"Hel", fin=False) == bytes.fromhex("010348656c")
    assert encode_frame(Opcode.PING, b"Hello") == bytes.fromhex("890548656c6c6f")


def test_hixie_text_frame():
    assert hixie_text_frame("é".encode()) == b"\x00\xc3\xa9\xff"


# -- close payloads ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        1000,
        1001,
        1002,
        1003,
        1007,
        1008,
        1009,
        1010,
        1011,
        1012,
        1013,
        1014,
        3000,
        3999,
        4000,
        4999,
    ],
)
def test_valid_close_codes(code):
    assert is_valid_close_code(code)
    assert parse_close(close_payload(code, "why")) == (code, "why")


@pytest.mark.parametrize(
    "code", [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]
)
def test_invalid_close_codes_are_refused_both_ways(code):
    assert not is_valid_close_code(code)
    with pytest.raises(ProtocolError, match="invalid close code"):
        parse_close(code.to_bytes(2, "big"))
    if code != CloseCode.NO_STATUS:
        with pytest.raises(ValueError):
            close_payload(code)


def test_empty_close_means_no_status():
    assert parse_close(b"") == (CloseCode.NO_STATUS, "")
    assert close_payload(CloseCode.NO_STATUS, "ignored") == b""


def test_one_byte_close_payload_is_a_protocol_error():
    with pytest.raises(ProtocolError) as error:
        parse_close(b"\x03")
    assert error.value.code == CloseCode.PROTOCOL_ERROR


def test_close_reason_must_be_utf8():
    with pytest.raises(InvalidPayload) as error:
        parse_close(b"\x03\xe8\xff")
    assert error.value.code == CloseCode.INVALID_DATA


def test_long_close_reason_is_cut_at_a_character_boundary():
    payload = close_payload(1000, "é" * 100)
    assert len(payload) <= 125
    assert parse_close(payload) == (1000, "é" * 61)


# -- the RFC 6455 reader ----------------------------------------------------------------


def test_reads_text_binary_and_control_frames_in_order():
    data = (
        frame(Opcode.TEXT, "✓".encode())
        + frame(Opcode.BINARY, b"\x00\xff")
        + frame(Opcode.PING, b"p")
        + frame(Opcode.PONG, b"q")
        + frame(Opcode.CLOSE, b"")
    )
    expected = [(1, "✓"), (2, b"\x00\xff"), (9, b"p"), (10, b"q"), (8, b"")]
    assert parse(data) == expected
    assert parse_bytewise(data) == expected


@pytest.mark.parametrize("n", [0, 125, 126, 65535, 65536, 300_000])
def test_every_length_encoding_reads_back(n):
    payload = bytes(i % 251 for i in range(n))
    data = frame(Opcode.BINARY, payload)
    assert parse(data) == [(2, payload)]
    reader = FrameReader()
    out: list[Item] = []
    for i in range(0, len(data), 4093):
        reader.feed(data[i : i + 4093], out)
    assert out == [(2, payload)]


def test_fragments_are_joined_with_control_frames_between_them():
    data = (
        frame(Opcode.TEXT, b"one ", fin=False)
        + frame(Opcode.PING, b"!")
        + frame(Opcode.CONTINUATION, b"tw", fin=False)
        + frame(Opcode.CONTINUATION, b"o")
    )
    assert parse(data) == [(9, b"!"), (1, "one two")]
    assert parse_bytewise(data) == [(9, b"!"), (1, "one two")]


def test_utf8_sequence_split_across_fragments_is_valid():
    snowman = "☃".encode()
    data = frame(Opcode.TEXT, snowman[:1], fin=False) + frame(Opcode.CONTINUATION, snowman[1:])
    assert parse(data) == [(1, "☃")]


def test_empty_fragments():
    data = (
        frame(Opcode.TEXT, b"", fin=False)
        + frame(Opcode.CONTINUATION, b"", fin=False)
        + frame(Opcode.CONTINUATION, b"")
    )
    assert parse(data) == [(1, "")]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (frame(Opcode.TEXT, b"x")[:0] + bytes([0x91, 0x80]) + MASK, "reserved bits"),
        (bytes([0x83, 0x80]) + MASK, "reserved opcode"),
        (bytes([0x8B, 0x80]) + MASK, "reserved opcode"),
        (frame(Opcode.PING, b"x", fin=False), "fragmented control"),
        (frame(Opcode.PING, b"x" * 126), "over 125"),
        (frame(Opcode.CONTINUATION, b"x"), "no message to continue"),
        (frame(Opcode.TEXT, b"a", fin=False) + frame(Opcode.TEXT, b"b"), "before the fragmented"),
        (encode_frame(Opcode.TEXT, b"x"), "must be masked"),
        (bytes([0x82, 0xFF]) + (1 << 63).to_bytes(8, "big"), "most significant bit"),
    ],
)
def test_rule_violations_raise_protocol_error_1002(data, message):
    with pytest.raises(ProtocolError, match=message) as error:
        parse(data)
    assert error.value.code == CloseCode.PROTOCOL_ERROR
    with pytest.raises(ProtocolError, match=message):
        parse_bytewise(data)


def test_unmasked_frames_are_fine_for_a_client_side_reader():
    assert parse(encode_frame(Opcode.TEXT, b"x"), FrameReader(require_mask=False)) == [(1, "x")]


@pytest.mark.parametrize(
    "payload", [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"ok\xe2\x82"]
)
def test_invalid_utf8_text_raises_1007(payload):
    with pytest.raises(InvalidPayload) as error:
        parse(frame(Opcode.TEXT, payload))
    assert error.value.code == CloseCode.INVALID_DATA
    with pytest.raises(InvalidPayload):
        parse_bytewise(frame(Opcode.TEXT, payload))


@pytest.mark.parametrize("bad", [b"\xf4\x90", b"\xed\xa0", b"\xc0"])
def test_invalid_utf8_fails_as_soon_as_its_bytes_arrive(bad):
    # Only the start of a 100-byte frame is fed: the rest never comes.
    data = frame(Opcode.TEXT, b"abc" + bad + b"x" * (97 - len(bad)))
    head = 2 + 4
    with pytest.raises(InvalidPayload):
        parse(data[: head + 3 + len(bad)])


def test_invalid_utf8_in_a_middle_fragment_fails_before_the_last_fragment():
    reader = FrameReader()
    out: list[Item] = []
    reader.feed(frame(Opcode.TEXT, "κόσμε".encode(), fin=False), out)
    with pytest.raises(InvalidPayload):
        reader.feed(frame(Opcode.CONTINUATION, b"\xf4\x90\x80\x80", fin=False), out)


def test_text_ending_inside_a_sequence_fails_at_the_end():
    data = frame(Opcode.TEXT, b"a\xe2", fin=False) + frame(Opcode.CONTINUATION, b"\x82")
    with pytest.raises(InvalidPayload, match="ends inside"):
        parse(data)


def test_message_size_limit_counts_all_fragments_and_fails_before_the_payload():
    reader = FrameReader(max_message_size=10)
    assert parse(frame(Opcode.TEXT, b"x" * 10), reader) == [(1, "x" * 10)]
    with pytest.raises(PayloadTooBig) as error:
        parse(
            frame(Opcode.TEXT, b"x" * 6, fin=False) + frame(Opcode.CONTINUATION, b"x" * 5),
            FrameReader(max_message_size=10),
        )
    assert error.value.code == CloseCode.MESSAGE_TOO_BIG
    # The header alone announces too much: refused before any payload arrives.
    with pytest.raises(PayloadTooBig):
        parse(frame(Opcode.BINARY, b"x" * 1000)[:8], FrameReader(max_message_size=10))


def test_items_before_an_error_are_kept():
    out: list[Item] = []
    with pytest.raises(ProtocolError):
        FrameReader().feed(frame(Opcode.TEXT, b"good") + bytes([0x83, 0x80]) + MASK, out)
    assert out == [(1, "good")]


def test_partial_header_is_buffered():
    reader = FrameReader()
    data = frame(Opcode.BINARY, b"x" * 70000)
    out: list[Item] = []
    reader.feed(data[:5], out)
    assert reader.buffered == 5 and out == []
    reader.feed(data[5:], out)
    assert out == [(2, b"x" * 70000)]


# -- the hixie-76 reader ----------------------------------------------------------------


def hixie(data: bytes, *, bytewise: bool = False, limit: int = 1 << 20) -> list[Item]:
    reader = HixieReader(limit)
    out: list[Item] = []
    if bytewise:
        for i in range(len(data)):
            reader.feed(data[i : i + 1], out)
    else:
        reader.feed(data, out)
    return out


@pytest.mark.parametrize("bytewise", [False, True])
def test_hixie_text_frames_and_close(bytewise):
    data = b"\x00one\xff\x00\xe2\x9c\x93\xff\x00\xff\xff\x00\x00after close\xff"
    assert hixie(data, bytewise=bytewise) == [(1, "one"), (1, "✓"), (1, ""), (8, b"")]


@pytest.mark.parametrize("bytewise", [False, True])
def test_hixie_skips_other_frame_types(bytewise):
    # A length-prefixed frame of 130 bytes (two length digits) and a sentinel frame of
    # type 0x05: both are skipped, as draft 76 says.
    data = b"\x80\x81\x02" + b"b" * 130 + b"\x05junk\xff" + b"\x00kept\xff"
    assert hixie(data, bytewise=bytewise) == [(1, "kept")]


def test_hixie_invalid_utf8_and_size_limit():
    with pytest.raises(InvalidPayload):
        hixie(b"\x00\xc0\xaf\xff")
    with pytest.raises(PayloadTooBig):
        hixie(b"\x00" + b"x" * 11 + b"\xff", limit=10)
    with pytest.raises(PayloadTooBig):
        hixie(b"\x00" + b"x" * 11, limit=10)  # refused before its end arrives
    with pytest.raises(PayloadTooBig):
        hixie(b"\x80\x81\x00", limit=10)


@pytest.mark.parametrize("opcode", [Opcode.TEXT, Opcode.BINARY])
@pytest.mark.parametrize("reader_feed", [parse, parse_bytewise])
def test_the_size_limit_counts_three_or_more_fragments_together(opcode, reader_feed):
    def fragments(*sizes: int) -> bytes:
        data = b""
        for i, size in enumerate(sizes):
            data += frame(
                opcode if i == 0 else Opcode.CONTINUATION,
                b"x" * size,
                fin=i == len(sizes) - 1,
            )
        return data

    whole = b"x" * 10 if opcode == Opcode.BINARY else "x" * 10
    # 4 + 3 + 3 is the limit exactly; 4 + 4 + 3 and 3 + 3 + 3 + 2 are one over.
    assert reader_feed(fragments(4, 3, 3), FrameReader(max_message_size=10)) == [(opcode, whole)]
    assert reader_feed(fragments(1, 2, 3, 4), FrameReader(max_message_size=10)) == [(opcode, whole)]
    for sizes in [(4, 4, 3), (3, 3, 3, 2), (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)]:
        with pytest.raises(PayloadTooBig):
            reader_feed(fragments(*sizes), FrameReader(max_message_size=10))


def test_the_size_limit_starts_again_with_each_message():
    reader = FrameReader(max_message_size=10)
    data = b""
    for _ in range(3):
        data += frame(Opcode.TEXT, b"x" * 5, fin=False) + frame(Opcode.CONTINUATION, b"y" * 5)
    assert parse(data, reader) == [(1, "x" * 5 + "y" * 5)] * 3
    assert parse_bytewise(data, FrameReader(max_message_size=10)) == [(1, "xxxxxyyyyy")] * 3


def test_the_limit_holds_for_one_small_frame_read_in_one_piece():
    # The short path for one small masked text frame checks the limit too.
    with pytest.raises(PayloadTooBig):
        parse(frame(Opcode.TEXT, b"x" * 6), FrameReader(max_message_size=5))
    assert parse(frame(Opcode.TEXT, b"x" * 5), FrameReader(max_message_size=5)) == [(1, "xxxxx")]


@pytest.mark.parametrize(
    "data",
    [
        frame(Opcode.TEXT, b"\xff") + frame(Opcode.PING, b""),  # not alone in the read
        frame(Opcode.TEXT, b"\xff" * 130),  # a 16-bit length
    ],
)
def test_invalid_utf8_in_a_whole_frame_off_the_short_path_raises_1007(data):
    with pytest.raises(InvalidPayload):
        parse(data)


def test_unmasked_frames_read_byte_by_byte_by_a_client_side_reader():
    data = encode_frame(Opcode.TEXT, "héllo".encode()) + encode_frame(Opcode.BINARY, b"\x00\x01")
    assert parse_bytewise(data, FrameReader(require_mask=False)) == [(1, "héllo"), (2, b"\x00\x01")]


# -- what mutation testing found untested ---------------------------------------------------


def test_a_close_reason_of_123_bytes_is_kept_and_a_longer_one_cut_to_123():
    assert close_payload(1000, "x" * 123) == b"\x03\xe8" + b"x" * 123
    assert close_payload(1000, "x" * 124) == b"\x03\xe8" + b"x" * 123
    assert close_payload(4000, "") == b"\x0f\xa0"


def test_close_refusals_say_why():
    with pytest.raises(ValueError, match=r"^close code 1004 may not be sent$"):
        close_payload(1004)
    with pytest.raises(ProtocolError, match=r"^close frame with a one-byte payload$"):
        parse_close(b"\x03")
    with pytest.raises(InvalidPayload, match=r"^close reason is not valid UTF-8$"):
        parse_close(b"\x03\xe8\xff")
    with pytest.raises(InvalidPayload, match=r"^text message ends inside a UTF-8 sequence$"):
        parse(frame(Opcode.TEXT, b"a\xe2", fin=False) + frame(Opcode.CONTINUATION, b"\x82"))


@pytest.mark.parametrize("fragmented", [False, True])
def test_a_message_at_the_limit_after_a_fragmented_one_is_taken(fragmented):
    reader = FrameReader(max_message_size=10)
    data = frame(Opcode.TEXT, b"ab", fin=False) + frame(Opcode.CONTINUATION, b"cd")
    if fragmented:
        data += frame(Opcode.BINARY, b"x" * 10, fin=False) + frame(Opcode.CONTINUATION, b"")
    else:
        data += frame(Opcode.BINARY, b"x" * 10)
    assert parse(data, reader) == [(1, "abcd"), (2, b"x" * 10)]


def test_hixie_refusals_say_why():
    cases = [
        (b"\x00" + b"x" * 11 + b"\xff", PayloadTooBig, "hixie-76 message over the size limit"),
        (b"\x00" + b"x" * 11, PayloadTooBig, "hixie-76 message over the size limit"),
        (b"\x80\x0b", PayloadTooBig, "hixie-76 frame over the size limit"),
        (b"\x80\x81\x00", PayloadTooBig, "hixie-76 frame over the size limit"),
        (b"\x80\x8b\x80", PayloadTooBig, "hixie-76 frame over the size limit"),  # mid-length
        (b"\x00\xc0\xaf\xff", InvalidPayload, "text message is not valid UTF-8"),
    ]
    for data, error, message in cases:
        with pytest.raises(error) as raised:
            hixie(data, limit=10)
        assert raised.value.message == message, data


@pytest.mark.parametrize("bytewise", [False, True])
def test_hixie_messages_and_frames_of_exactly_the_limit_are_taken(bytewise):
    data = b"\x00" + b"x" * 10 + b"\xff" + b"\x80\x0a" + b"b" * 10 + b"\x00y\xff"
    assert hixie(data, bytewise=bytewise, limit=10) == [(1, "x" * 10), (1, "y")]


def test_hixie_an_unfinished_message_at_the_limit_is_waited_for():
    reader = HixieReader(10)
    out: list[Item] = []
    reader.feed(b"\x00ab\xff\x00" + b"x" * 10, out)  # after a message, 10 bytes so far
    assert out == [(1, "ab")]
    reader.feed(b"\xff", out)
    assert out == [(1, "ab"), (1, "x" * 10)]
    reader = HixieReader(10)
    reader.feed(b"\x80\x8a", out)  # 10 so far, and more digits to come: not yet too big
    with pytest.raises(PayloadTooBig):
        reader.feed(b"\x00", out)


def test_hixie_a_message_split_across_reads_is_found_whole():
    reader = HixieReader()
    out: list[Item] = []
    reader.feed(b"\x00abcde", out)
    reader.feed(b"\xff\x00123456\xff", out)
    assert out == [(1, "abcde"), (1, "123456")]


@pytest.mark.parametrize("chunk", [1, 2, 3, 4])
def test_hixie_a_short_length_prefixed_frame_split_across_reads_is_skipped_whole(chunk):
    data = b"\x80\x05bbbbb\x80\x00\x00kept\xff"  # a 5-byte frame, an empty one, a message
    reader = HixieReader()
    out: list[Item] = []
    for i in range(0, len(data), chunk):
        reader.feed(data[i : i + chunk], out)
    assert out == [(1, "kept")]


def test_hixie_an_empty_length_prefixed_frame_is_no_close():
    assert hixie(b"\x80\x00\x00after\xff") == [(1, "after")]
    assert hixie(b"\x00\xff\xff\x00") == [(1, ""), (8, b"")]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (bytes([0x91, 0x80]) + MASK, "reserved bits set without a negotiated extension"),
        (frame(Opcode.PING, b"x", fin=False), "fragmented control frame"),
        (encode_frame(Opcode.TEXT, b"x"), "client frames must be masked"),
        (
            bytes([0x82, 0xFF]) + (1 << 63).to_bytes(8, "big"),
            "payload length with its most significant bit set",
        ),
        (frame(Opcode.TEXT, b"\xff"), "text message is not valid UTF-8"),  # one whole frame
        (frame(Opcode.TEXT, b"\xff", fin=False), "text message is not valid UTF-8"),  # a part
        (frame(Opcode.TEXT, b"a\xed\xa0", fin=False), "text message is not valid UTF-8"),
    ],
)
def test_rule_violations_say_exactly_which(data, message):
    for feed in (parse, parse_bytewise):
        with pytest.raises(ProtocolError) as raised:
            feed(data)
        assert raised.value.message == message


def test_the_short_path_refusal_names_the_limit():
    with pytest.raises(PayloadTooBig) as raised:
        parse(frame(Opcode.TEXT, b"x" * 6), FrameReader(max_message_size=5))
    assert raised.value.message == "message over 5 bytes"


def test_a_control_frame_of_125_bytes_is_taken():
    assert parse(frame(Opcode.PING, b"p" * 125)) == [(9, b"p" * 125)]


def test_a_client_side_reader_reads_two_byte_frames():
    reader = FrameReader(require_mask=False)
    assert parse(b"\x81\x00\x89\x00", reader) == [(1, ""), (9, b"")]
    assert parse(b"\x8a\x00", FrameReader(require_mask=False)) == [(10, b"")]


def test_a_whole_header_is_not_held_back():
    reader = FrameReader(require_mask=False)
    out: list[Item] = []
    data = encode_frame(Opcode.BINARY, b"x" * 200)  # a 4-byte header, then the payload
    reader.feed(data[:4], out)
    assert reader.buffered == 0 and out == []
    reader.feed(data[4:], out)
    assert out == [(2, b"x" * 200)] and reader.buffered == 0
    split = frame(Opcode.TEXT, b"abc")
    reader = FrameReader()
    reader.feed(split[:1], out)
    assert reader.buffered == 1
    reader.feed(split[1:], out)
    assert reader.buffered == 0 and out[-1] == (1, "abc")


ZERO = b"\x00\x00\x00\x00"


def look_alike_stream() -> bytes:
    """Frames whose pieces look like the one small text frame the short path reads:
    a binary payload holding ``81 81``, a mask that starts like a length byte, a small
    frame followed by one that makes the read exactly ``length + 0x7A`` bytes long."""
    return (
        frame(Opcode.BINARY, b"abcd\x81\x81\x00\x00\x00\x00z", mask=ZERO)
        + frame(Opcode.BINARY, b"p", mask=b"\x81\x00\x00\x00")
        + frame(Opcode.TEXT, b"a", mask=bytes([0x7A + 14, 0, 0, 0]))
        + frame(Opcode.TEXT, b"b", mask=ZERO)
        + frame(Opcode.TEXT, b"c", fin=False)
        + frame(Opcode.PING, b"")
        + frame(Opcode.CONTINUATION, b"de")
    )


def test_every_way_of_cutting_the_stream_in_three_reads_gives_the_same_messages():
    data = look_alike_stream()
    whole = parse(data)
    assert whole == [
        (2, b"abcd\x81\x81\x00\x00\x00\x00z"),
        (2, b"p"),
        (1, "a"),
        (1, "b"),
        (9, b""),
        (1, "cde"),
    ]
    for i in range(len(data) + 1):
        for j in range(i, len(data) + 1):
            reader = FrameReader()
            out: list[Item] = []
            for piece in (data[:i], data[i:j], data[j:]):
                reader.feed(piece, out)
            assert out == whole, (i, j)


@pytest.mark.parametrize("size", [200, 33_100])
def test_the_first_132_bytes_of_a_long_text_frame_are_not_a_message(size):
    # 132 bytes whose second byte is 0xFE (a 16-bit length follows) look, by their
    # count alone, like a small frame to the short path.
    data = frame(Opcode.TEXT, b"x" * size)
    reader = FrameReader(max_message_size=1 << 20)
    out: list[Item] = []
    reader.feed(data[:132], out)
    assert out == []
    reader.feed(data[132:], out)
    assert out == [(1, "x" * size)]


def test_a_small_frame_then_a_read_of_exactly_length_plus_0x7a_bytes():
    first = frame(Opcode.TEXT, b"a")  # second byte 0x81: 0x81 + 0x7A = 251
    second = frame(Opcode.BINARY, b"y" * (251 - len(first) - 8))
    assert len(first + second) == 251
    assert parse(first + second) == [(1, "a"), (2, b"y" * 236)]


@pytest.mark.parametrize("size", [200, 70_000])  # a 16-bit and a 64-bit length
@pytest.mark.parametrize("cut", range(1, 14))
def test_a_long_header_after_a_small_frame_may_be_cut_anywhere(cut, size):
    small = frame(Opcode.TEXT, b"s")
    long = frame(Opcode.BINARY, b"L" * size)
    reader = FrameReader()
    out: list[Item] = []
    reader.feed(small + long[:cut], out)
    reader.feed(long[cut:], out)
    assert out == [(1, "s"), (2, b"L" * size)]


def test_a_fresh_reader_takes_a_first_message_of_exactly_the_limit():
    assert parse(frame(Opcode.BINARY, b"x" * 10), FrameReader(max_message_size=10)) == [
        (2, b"x" * 10)
    ]


def test_a_new_message_in_its_own_read_inside_a_fragmented_one_is_refused():
    reader = FrameReader()
    out: list[Item] = []
    reader.feed(frame(Opcode.TEXT, b"a", fin=False), out)
    with pytest.raises(ProtocolError) as raised:
        reader.feed(frame(Opcode.TEXT, b"b"), out)  # one small text frame, alone
    assert raised.value.message == "new message before the fragmented one ended"
    assert out == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (frame(Opcode.PING, b"x" * 126), "control frame payload over 125 bytes"),
        (
            frame(Opcode.TEXT, b"a", fin=False) + frame(Opcode.TEXT, b"b"),
            "new message before the fragmented one ended",
        ),
        (
            frame(Opcode.TEXT, b"\xff") + frame(Opcode.PING, b""),
            "text message is not valid UTF-8",
        ),
    ],
)
def test_more_rule_violations_say_exactly_which(data, message):
    with pytest.raises(ProtocolError) as raised:
        parse(data)
    assert raised.value.message == message


def test_a_client_side_reader_reads_unmasked_control_frames_with_payloads():
    reader = FrameReader(require_mask=False)
    assert parse(encode_frame(Opcode.PING, b"hi"), reader) == [(9, b"hi")]


@pytest.mark.parametrize("cut", range(1, 10))
def test_a_client_side_reader_takes_a_long_header_cut_after_a_small_frame(cut):
    small = encode_frame(Opcode.TEXT, b"s")
    long = encode_frame(Opcode.BINARY, b"L" * 70_000)
    reader = FrameReader(require_mask=False)
    out: list[Item] = []
    reader.feed(small + long[:cut], out)
    reader.feed(long[cut:], out)
    assert out == [(1, "s"), (2, b"L" * 70_000)]
