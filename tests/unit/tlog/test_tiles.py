"""C2SP tlog-tiles: paths, the tiles of a tree size, tile-backed hashes and entry bundles."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dongne.tlog.errors import MalformedLogData
from dongne.tlog.merkle import CompactRange, MemoryHashSource, leaf_hash, root_hash
from dongne.tlog.tiles import (
    MAX_LEVEL,
    TILE_HEIGHT,
    TILE_WIDTH,
    Tile,
    TileHashSource,
    entries_path,
    entry_bundle,
    parse_entries_path,
    parse_entry_bundle,
    parse_tile_path,
    tile_for_node,
    tile_path,
    tiles_for_size,
)


def leaves(count: int) -> list[bytes]:
    return [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(count)]


def stored_tiles(count: int) -> dict[tuple[int, int], bytes]:
    """The tiles the sequencer stores while appending count leaves."""
    tiles: dict[tuple[int, int], bytes] = {}
    compact = CompactRange()
    for leaf in leaves(count):
        for height, index, node in compact.append(leaf):
            if height % TILE_HEIGHT == 0:
                level, tile_index, _ = tile_for_node(height, index)
                tiles[level, tile_index] = tiles.get((level, tile_index), b"") + node
    return tiles


@pytest.mark.parametrize(
    ("tile", "path"),
    [
        (Tile(0, 1_234_067), "tile/0/x001/x234/067"),  # the spec's own example index
        (Tile(0, 1234), "tile/0/x001/234"),
        (Tile(1, 5, 7), "tile/1/005.p/7"),
        (Tile(0, 0), "tile/0/000"),
        (Tile(0, 0, 1), "tile/0/000.p/1"),
        (Tile(2, 999, 255), "tile/2/999.p/255"),
        (Tile(3, 1000), "tile/3/x001/000"),
        (Tile(63, 0), "tile/63/000"),
        (Tile(0, (2**64 - 1) >> 8), "tile/0/x072/x057/x594/x037/x927/935"),
    ],
)
def test_tile_paths_follow_the_spec_and_parse_back(tile: Tile, path: str) -> None:
    assert tile_path(tile) == path
    assert parse_tile_path(path) == tile


@pytest.mark.parametrize(
    ("index", "width", "path"),
    [
        (1_234_067, 256, "tile/entries/x001/x234/067"),
        (0, 256, "tile/entries/000"),
        (5, 7, "tile/entries/005.p/7"),
        (1234, 1, "tile/entries/x001/234.p/1"),
    ],
)
def test_entry_bundle_paths_follow_the_spec_and_parse_back(
    index: int, width: int, path: str
) -> None:
    assert entries_path(index, width) == path
    assert parse_entries_path(path) == (index, width)


@st.composite
def tiles(draw: st.DrawFn) -> Tile:
    level = draw(st.integers(0, MAX_LEVEL))
    index = draw(st.integers(0, (2**64 - 1) >> (TILE_HEIGHT * (level + 1))))
    return Tile(level, index, draw(st.integers(1, TILE_WIDTH)))


@settings(max_examples=200)
@given(tiles())
def test_every_tile_path_round_trips(tile: Tile) -> None:
    assert parse_tile_path(tile_path(tile)) == tile


@settings(max_examples=200)
@given(st.integers(0, (2**64 - 1) >> 8), st.integers(1, TILE_WIDTH))
def test_every_entry_bundle_path_round_trips(index: int, width: int) -> None:
    assert parse_entries_path(entries_path(index, width)) == (index, width)


MALFORMED_TILE_PATHS = [
    "tile/0/1234",  # a group of four digits
    "tile/0/01",  # a group of two digits
    "tile/0/x000/001",  # a leading zero group
    "tile/0/001/234",  # a group without its x
    "tile/0/x001/x234",  # the last group with an x
    "tile/0/xx01/234",
    "tile/00/000",  # a level with a leading zero
    "tile/01/000",
    "tile/64/000",  # past the highest level
    "tile/-1/000",
    "tile/+1/000",
    "tile/0/000.p/0",  # an empty partial tile
    "tile/0/000.p/256",  # a full tile written as partial
    "tile/0/000.p/300",
    "tile/0/000.p/07",  # a width with a leading zero
    "tile/0/000.p/+7",
    "tile/0/000.p/",
    "tile/0/000.p",
    "tile/0/000/",
    "tile/0/",
    "tile/0",
    "tile/",
    "tile//000",
    "/tile/0/000",
    "0/000",
    "tiles/0/000",
    "tile/0/000\n",
    "tile/0/ 00",
    "tile/0/0_0",
    "tile/0/\u0661\u0662\u0663",  # Arabic-Indic digits that int() would read
    "tile/\u0661/000",
    "tile/0/x072/x057/x594/x037/x927/936",  # the index of a tile past 2**64 leaves
    "tile/8/x001/000",
    "tile/entries/000",  # a bundle, not a hash tile
    "tile/0/" + "x999/" * 30 + "999",
]


@pytest.mark.parametrize("path", MALFORMED_TILE_PATHS)
def test_malformed_tile_paths_are_rejected(path: str) -> None:
    with pytest.raises(MalformedLogData):
        parse_tile_path(path)


@pytest.mark.parametrize(
    "path",
    [
        "tile/entries/000.p/256",
        "tile/entries/000.p/0",
        "tile/entries/x000/001",
        "tile/entries/01",
        "tile/entries/",
        "tile/0/000",
        "entries/000",
        "tile/entries/x072/x057/x594/x037/x927/936",
    ],
)
def test_malformed_entry_bundle_paths_are_rejected(path: str) -> None:
    with pytest.raises(MalformedLogData):
        parse_entries_path(path)


@pytest.mark.parametrize("path", [b"tile/0/000", None, 0])
def test_a_tile_path_that_is_not_a_string_is_rejected(path: object) -> None:
    with pytest.raises(MalformedLogData):
        parse_tile_path(path)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("level", "index", "width"),
    [
        (64, 0, 256),
        (-1, 0, 256),
        (0, -1, 256),
        (0, 0, 0),
        (0, 0, 257),
        (0, 2**56, 256),
        (True, 0, 1),
    ],
)
def test_a_tile_outside_the_spec_cannot_be_made(level: int, index: int, width: int) -> None:
    with pytest.raises(MalformedLogData):
        Tile(level, index, width)


def full(level: int, count: int) -> list[Tile]:
    return [Tile(level, index) for index in range(count)]


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (0, []),
        (1, [Tile(0, 0, 1)]),
        (255, [Tile(0, 0, 255)]),
        (256, [Tile(0, 0), Tile(1, 0, 1)]),
        (257, [Tile(0, 0), Tile(0, 1, 1), Tile(1, 0, 1)]),
        (65_535, [*full(0, 255), Tile(0, 255, 255), Tile(1, 0, 255)]),
        (65_536, [*full(0, 256), Tile(1, 0), Tile(2, 0, 1)]),
        (65_537, [*full(0, 256), Tile(0, 256, 1), Tile(1, 0), Tile(2, 0, 1)]),
        # The spec's example: 273 full level-0 tiles, a level-0 tile of width 112, one full
        # level-1 tile, a level-1 tile of width 17 and a level-2 tile of width 1.
        (70_000, [*full(0, 273), Tile(0, 273, 112), Tile(1, 0), Tile(1, 1, 17), Tile(2, 0, 1)]),
    ],
)
def test_tiles_for_size_lists_full_tiles_and_the_partial_right_edge(
    size: int, expected: list[Tile]
) -> None:
    assert tiles_for_size(size) == expected


@pytest.mark.parametrize("size", [1, 2, 255, 256, 257, 511, 512, 1000])
def test_tiles_for_size_names_exactly_the_tiles_the_sequencer_stores(size: int) -> None:
    stored = {key: len(data) // 32 for key, data in stored_tiles(size).items()}
    assert {(t.level, t.index): t.width for t in tiles_for_size(size)} == stored


@pytest.mark.parametrize("size", [-1, 2**64, 1.0, True])
def test_tiles_for_size_rejects_sizes_outside_uint64(size: int) -> None:
    with pytest.raises(MalformedLogData):
        tiles_for_size(size)


@pytest.mark.parametrize(
    ("height", "index", "place"),
    [(0, 0, (0, 0, 0)), (0, 1234, (0, 4, 210)), (8, 300, (1, 1, 44)), (16, 5, (2, 0, 5))],
)
def test_tile_for_node_places_a_node_in_its_tile(
    height: int, index: int, place: tuple[int, int, int]
) -> None:
    assert tile_for_node(height, index) == place


@pytest.mark.parametrize(("height", "index"), [(7, 0), (9, 0), (-8, 0), (0, -1)])
def test_nodes_at_heights_tiles_do_not_store_have_no_place(height: int, index: int) -> None:
    with pytest.raises(MalformedLogData):
        tile_for_node(height, index)


def test_tile_hash_source_builds_in_between_heights_from_the_tile_below() -> None:
    tiles = stored_tiles(600)
    source = TileHashSource(lambda level, index: tiles[level, index])
    memory = MemoryHashSource(leaves(600))
    for height in range(10):
        for index in range(600 >> height):
            assert source.subtree_hash(height, index) == memory.subtree_hash(height, index)
    assert root_hash(600, source) == root_hash(600, memory)


def test_tile_hash_source_reports_a_hash_the_partial_tile_lacks() -> None:
    tiles = stored_tiles(10)
    source = TileHashSource(lambda level, index: tiles[level, index])
    with pytest.raises(MalformedLogData, match="holds 10 hashes; 11 are needed"):
        source.subtree_hash(0, 10)
    with pytest.raises(MalformedLogData, match="16 are needed"):
        source.subtree_hash(4, 0)


def test_tile_hash_source_rereads_a_cached_partial_tile_that_has_grown() -> None:
    tiles = stored_tiles(10)
    source = TileHashSource(lambda level, index: tiles[level, index])
    source.subtree_hash(0, 9)
    tiles.update(stored_tiles(20))
    assert source.subtree_hash(0, 19) == leaves(20)[19]


def test_tile_hash_source_passes_on_the_readers_error_for_a_missing_tile() -> None:
    source = TileHashSource(lambda level, index: {}[level, index])
    with pytest.raises(KeyError):
        source.subtree_hash(0, 0)


@pytest.mark.parametrize("size", [31, 33, 256 * 32 + 32])
def test_tile_hash_source_rejects_a_tile_of_the_wrong_length(size: int) -> None:
    source = TileHashSource(lambda level, index: bytes(size))
    with pytest.raises(MalformedLogData, match=f"is {size} bytes"):
        source.subtree_hash(0, 0)


def test_an_entry_bundle_is_big_endian_uint16_length_prefixed_entries() -> None:
    assert entry_bundle([b"ab", b"", b"c" * 258]) == b"\x00\x02ab\x00\x00\x01\x02" + b"c" * 258


entry_lists = st.lists(st.binary(max_size=300), min_size=1, max_size=TILE_WIDTH)


@settings(max_examples=50)
@given(entry_lists)
def test_entry_bundles_round_trip(entries: list[bytes]) -> None:
    assert parse_entry_bundle(entry_bundle(entries), width=len(entries)) == entries


@settings(max_examples=50)
@given(entry_lists)
def test_every_truncated_entry_bundle_is_rejected(entries: list[bytes]) -> None:
    bundle = entry_bundle(entries)
    for cut in range(len(bundle)):
        with pytest.raises(MalformedLogData):
            parse_entry_bundle(bundle[:cut], width=len(entries))


def test_a_bundle_cut_inside_an_entry_is_rejected_even_without_a_width() -> None:
    bundle = entry_bundle([b"first", b"second"])
    with pytest.raises(MalformedLogData, match="truncated inside entry 1"):
        parse_entry_bundle(bundle[:-1])
    with pytest.raises(MalformedLogData, match="stray bytes after entry 1"):
        parse_entry_bundle(bundle[:8])


def test_the_largest_entry_fits_and_one_byte_more_does_not() -> None:
    largest = b"\xff" * 0xFFFF
    assert parse_entry_bundle(entry_bundle([largest])) == [largest]
    with pytest.raises(MalformedLogData):
        entry_bundle([largest + b"\xff"])


@pytest.mark.parametrize("count", [0, TILE_WIDTH + 1])
def test_an_entry_bundle_holds_one_to_256_entries(count: int) -> None:
    with pytest.raises(MalformedLogData):
        entry_bundle([b"x"] * count)
    with pytest.raises(MalformedLogData):
        parse_entry_bundle(b"\x00\x01x" * count)


def test_an_entry_bundle_of_the_wrong_width_is_rejected() -> None:
    with pytest.raises(MalformedLogData, match="holds 2 entries, expected 3"):
        parse_entry_bundle(entry_bundle([b"a", b"b"]), width=3)


def test_an_entry_bundle_entry_hashes_to_its_level_0_tile_hash() -> None:
    entries = [f"leaf-{i}".encode() for i in range(300)]
    compact = CompactRange()
    for entry in parse_entry_bundle(entry_bundle(entries[:256]), width=256) + entries[256:]:
        compact.append(leaf_hash(entry))
    assert compact.root() == root_hash(300, MemoryHashSource(leaf_hash(e) for e in entries))
