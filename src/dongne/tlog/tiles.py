"""C2SP tlog-tiles: tile coordinates, paths, entry bundles and a hash source over tiles.

A tile at level L, index N holds up to 256 consecutive hashes of tree height 8L: level 0 holds
leaf hashes, level L + 1 holds the roots of full level-L tiles. Heights between multiples of 8
are not stored; ``TileHashSource`` rebuilds a node of height h from the 2**(h % 8) hashes below
it in one level-(h // 8) tile, so every perfect subtree costs at most one tile read.

Paths are relative to the log's prefix and always start with ``tile/``, as the spec writes
them: ``tile/<L>/<N>[.p/<W>]`` and ``tile/entries/<N>[.p/<W>]``. N is written in zero-padded
groups of three digits, every group but the last prefixed with ``x`` (1234067 is
``x001/x234/067``). The parsers accept exactly the canonical form: they read a path leniently,
then compare it with the path its tile would be written as, which refuses leading zeros, a
missing or misplaced ``x``, a ``.p/256`` and every other spelling of a valid tile.

Tree sizes are at most 2**64 - 1 (a checkpoint's size is a uint64), which bounds tile indexes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dongne.tlog.errors import MalformedLogData
from dongne.tlog.merkle import HASH_SIZE, node_hash

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_LEVEL = 63
MAX_TREE_SIZE = (1 << 64) - 1
MAX_ENTRY_SIZE = 0xFFFF

_PATH_BASE = 1000
_MAX_PATH_LENGTH = 100  # the longest canonical path is about 50 characters
_TILE_PREFIX = "tile/"
_ENTRIES_PREFIX = "tile/entries/"


@dataclass(frozen=True)
class Tile:
    """Tile ``index`` of ``level``, holding ``width`` hashes (256 is a full tile)."""

    level: int
    index: int
    width: int = TILE_WIDTH

    def __post_init__(self) -> None:
        if not _is_int(self.level) or not 0 <= self.level <= MAX_LEVEL:
            raise MalformedLogData(f"tile level must be 0 to {MAX_LEVEL}, got {self.level!r}")
        if not _is_int(self.index) or not 0 <= self.index <= _max_tile_index(self.level):
            raise MalformedLogData(
                f"tile index {self.index!r} is not one a tree of up to 2**64 - 1 leaves has "
                f"at level {self.level}"
            )
        if not _is_int(self.width) or not 1 <= self.width <= TILE_WIDTH:
            raise MalformedLogData(f"tile width must be 1 to {TILE_WIDTH}, got {self.width!r}")

    @property
    def is_full(self) -> bool:
        return self.width == TILE_WIDTH


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _max_tile_index(level: int) -> int:
    return MAX_TREE_SIZE >> (TILE_HEIGHT * (level + 1))


def _index_path(index: int, width: int) -> str:
    groups = []
    while True:
        index, group = divmod(index, _PATH_BASE)
        groups.append(group)
        if index == 0:
            break
    head = "".join(f"x{g:03d}/" for g in reversed(groups[1:]))
    partial = f".p/{width}" if width < TILE_WIDTH else ""
    return f"{head}{groups[0]:03d}{partial}"


def tile_path(tile: Tile) -> str:
    """``tile/<L>/<N>[.p/<W>]``, e.g. ``tile/0/x001/234`` or ``tile/1/005.p/7``."""
    return f"{_TILE_PREFIX}{tile.level}/{_index_path(tile.index, tile.width)}"


def entries_path(index: int, width: int = TILE_WIDTH) -> str:
    """``tile/entries/<N>[.p/<W>]``: the bundle of the entries under level-0 tile ``index``."""
    tile = Tile(0, index, width)  # same index and width rules as a level-0 tile
    return f"{_ENTRIES_PREFIX}{_index_path(tile.index, tile.width)}"


def _read_number(text: str, path: str) -> int:
    # isdigit alone would let through non-ASCII digits, which int() reads.
    if not (text.isascii() and text.isdigit()):
        raise MalformedLogData(f"tile path {path!r}: {text!r} is not a decimal number")
    return int(text)


def _read_index(rest: str, path: str) -> tuple[int, int]:
    """Reads ``<N>[.p/<W>]`` leniently; the caller's round trip refuses non-canonical forms."""
    width = TILE_WIDTH
    index_part, partial, width_part = rest.partition(".p/")
    if partial:
        width = _read_number(width_part, path)
    index = 0
    for group in index_part.split("/"):
        value = _read_number(group.removeprefix("x"), path)
        if value >= _PATH_BASE:
            raise MalformedLogData(f"tile path {path!r}: group {group!r} has over three digits")
        index = index * _PATH_BASE + value
    return index, width


def _check_path(path: object, prefix: str) -> str:
    if not isinstance(path, str) or len(path) > _MAX_PATH_LENGTH:
        raise MalformedLogData(f"not a tile path: {path!r:.120}")
    if not path.startswith(prefix):
        raise MalformedLogData(f"tile path {path!r} does not start with {prefix!r}")
    return path[len(prefix) :]


def _require_canonical(path: str, canonical: str) -> None:
    if path != canonical:
        raise MalformedLogData(f"tile path {path!r} is not canonical; it would be {canonical!r}")


def parse_tile_path(path: str) -> Tile:
    """The hash tile a ``tile/<L>/<N>[.p/<W>]`` path names; MalformedLogData unless canonical."""
    rest = _check_path(path, _TILE_PREFIX)
    level_part, _, rest = rest.partition("/")
    if level_part == "entries":
        raise MalformedLogData(f"{path!r} names an entry bundle, not a hash tile")
    level = _read_number(level_part, path)
    index, width = _read_index(rest, path)
    tile = Tile(level, index, width)
    _require_canonical(path, tile_path(tile))
    return tile


def parse_entries_path(path: str) -> tuple[int, int]:
    """(index, width) of a ``tile/entries/<N>[.p/<W>]`` path; MalformedLogData unless canonical."""
    index, width = _read_index(_check_path(path, _ENTRIES_PREFIX), path)
    _require_canonical(path, entries_path(index, width))
    return index, width


def tiles_for_size(size: int) -> list[Tile]:
    """Every tile of a tree of ``size`` leaves: the full ones and each level's partial edge.

    Level L has floor(size / 256**L) hashes; 256 of them fill a tile and the rest, if any, form
    the partial tile. A tree of 256 leaves thus has a full level-0 tile and a level-1 tile of
    width 1.
    """
    if not _is_int(size) or not 0 <= size <= MAX_TREE_SIZE:
        raise MalformedLogData(f"tree size must be 0 to 2**64 - 1, got {size!r}")
    tiles: list[Tile] = []
    level = 0
    while count := size >> (TILE_HEIGHT * level):
        full, partial = divmod(count, TILE_WIDTH)
        tiles.extend(Tile(level, index) for index in range(full))
        if partial:
            tiles.append(Tile(level, full, partial))
        level += 1
    return tiles


def tile_for_node(height: int, index: int) -> tuple[int, int, int]:
    """(level, tile index, position) where the node at height 8 * level is stored."""
    if not _is_int(height) or height < 0 or height % TILE_HEIGHT:
        raise MalformedLogData(f"only heights that are multiples of 8 are stored, got {height!r}")
    if not _is_int(index) or index < 0:
        raise MalformedLogData(f"node index must be a non-negative integer, got {index!r}")
    tile_index, position = divmod(index, TILE_WIDTH)
    return height // TILE_HEIGHT, tile_index, position


class TileHashSource:
    """A merkle.HashSource over stored tiles.

    ``read_tile(level, index)`` returns the hashes stored for that tile, 32 bytes each, full or
    partial; whatever it raises for a tile it does not have passes through. A tile shorter than
    a requested node needs raises MalformedLogData. The last ``cache_tiles`` tiles read are
    kept, so a proof reads each tile once.
    """

    def __init__(self, read_tile: Callable[[int, int], bytes], cache_tiles: int = 16) -> None:
        self._read_tile = read_tile
        self._cache_tiles = cache_tiles
        self._cache: dict[tuple[int, int], bytes] = {}

    def subtree_hash(self, height: int, index: int) -> bytes:
        if height < 0 or index < 0:
            raise MalformedLogData(f"no subtree of height {height} at index {index}")
        level, extra = divmod(height, TILE_HEIGHT)
        count = 1 << extra
        tile_index, position = divmod(index << extra, TILE_WIDTH)
        data = self._tile(level, tile_index, position + count)
        start = position * HASH_SIZE
        return _perfect_root(data[start : start + count * HASH_SIZE])

    def _tile(self, level: int, index: int, needed: int) -> bytes:
        key = (level, index)
        data = self._cache.get(key)
        # Stored tiles only grow, so a cached partial tile may just be out of date.
        if data is None or len(data) < needed * HASH_SIZE:
            data = self._fetch(level, index)
            self._remember(key, data)
        if len(data) < needed * HASH_SIZE:
            raise MalformedLogData(
                f"tile {level}/{index} holds {len(data) // HASH_SIZE} hashes; {needed} are needed"
            )
        return data

    def _fetch(self, level: int, index: int) -> bytes:
        data = self._read_tile(level, index)
        if len(data) % HASH_SIZE or len(data) > TILE_WIDTH * HASH_SIZE:
            raise MalformedLogData(f"tile {level}/{index} is {len(data)} bytes")
        return bytes(data)

    def _remember(self, key: tuple[int, int], data: bytes) -> None:
        self._cache.pop(key, None)
        self._cache[key] = data
        if len(self._cache) > self._cache_tiles:
            del self._cache[next(iter(self._cache))]


def _perfect_root(data: bytes) -> bytes:
    """The root over a power-of-two run of concatenated hashes."""
    level = [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def entry_bundle(entries: Sequence[bytes]) -> bytes:
    """1 to 256 entries, each prefixed with its length as a big-endian uint16."""
    if not 1 <= len(entries) <= TILE_WIDTH:
        raise MalformedLogData(f"an entry bundle holds 1 to {TILE_WIDTH} entries")
    parts = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, bytes) or len(entry) > MAX_ENTRY_SIZE:
            raise MalformedLogData(f"entry {i} is not bytes of at most {MAX_ENTRY_SIZE}")
        parts.append(len(entry).to_bytes(2, "big"))
        parts.append(entry)
    return b"".join(parts)


def parse_entry_bundle(data: bytes, width: int | None = None) -> list[bytes]:
    """The entries of a bundle; refuses truncation, emptiness and a count other than width."""
    entries: list[bytes] = []
    position, end = 0, len(data)
    while position < end:
        if position + 2 > end or len(entries) == TILE_WIDTH:
            raise MalformedLogData(f"entry bundle has stray bytes after entry {len(entries)}")
        length = int.from_bytes(data[position : position + 2], "big")
        position += 2
        if position + length > end:
            raise MalformedLogData(f"entry bundle is truncated inside entry {len(entries)}")
        entries.append(bytes(data[position : position + length]))
        position += length
    if not entries:
        raise MalformedLogData("an entry bundle holds at least one entry")
    if width is not None and len(entries) != width:
        raise MalformedLogData(f"entry bundle holds {len(entries)} entries, expected {width}")
    return entries
