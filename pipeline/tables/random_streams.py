"""Counter-based random numbers that come out bit-identical on numpy and CuPy.

Each value is SplitMix64 of (row index + a per-stream offset), computed with the
engine's array module, so a generator runs on the device it targets and the CPU
and GPU copies of a synthetic dataset hold the same values.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

GOLDEN = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
MASK64 = (1 << 64) - 1
# Bytes a row of working arrays that making one stream of values holds at once: `normal` (Box-Muller) keeps one
# uniform stream and its radius while it makes the other, whose mixing holds three uint64 arrays: five 8-byte values.
WORKING_BYTES_PER_ROW = 5 * 8


def _mix_int(value: int) -> int:
    """SplitMix64 finaliser on a Python int, for stream offsets."""
    z = (value + GOLDEN) & MASK64
    z = ((z ^ (z >> 30)) * MIX1) & MASK64
    z = ((z ^ (z >> 27)) * MIX2) & MASK64
    return z ^ (z >> 31)


def stream_bits(xp: ModuleType, seed: int, stream: int, start: int, n: int) -> Any:
    """`n` uniformly random uint64 values of stream number `stream` for `seed`, from value `start` on."""
    u64 = xp.uint64
    offset = _mix_int(_mix_int(seed) ^ stream)
    z = xp.arange(start, start + n, dtype=xp.uint64) + u64((offset + GOLDEN) & MASK64)
    z = (z ^ (z >> u64(30))) * u64(MIX1)
    z = (z ^ (z >> u64(27))) * u64(MIX2)
    return z ^ (z >> u64(31))


def unit_floats(xp: ModuleType, bits: Any) -> Any:
    """Floats in [0, 1) with 53 random bits each, from uint64 `bits`."""
    return (bits >> xp.uint64(11)).astype(xp.float64) * (2.0**-53)


class CounterRandom:
    """Independent streams of `n` random values for one seed, on array module `xp`, from value `start` on."""

    def __init__(self, xp: ModuleType, seed: int, n: int, start: int = 0) -> None:
        self.xp = xp
        self.seed = seed
        self.n = n
        self.start = start  # the index of the first value: a window of a longer stream, for one partition

    def bits(self, stream: int) -> Any:
        """`n` uniformly random uint64 values for stream number `stream`."""
        return stream_bits(self.xp, self.seed, stream, self.start, self.n)

    def uniform(self, stream: int) -> Any:
        """Floats in [0, 1) with 53 random bits each."""
        return unit_floats(self.xp, self.bits(stream))

    def integers(self, stream: int, low: int, high: int) -> Any:
        """Integers in [low, high); the modulo bias is below 2**-40 for high - low < 2**24."""
        span = high - low
        if span <= 0:
            raise ValueError(f"empty range [{low}, {high})")
        return (self.bits(stream) % self.xp.uint64(span)).astype(self.xp.int64) + low

    def normal(self, stream: int) -> Any:
        """Standard normal values (Box-Muller on two streams)."""
        xp = self.xp
        radius = xp.sqrt(-2.0 * xp.log1p(-self.uniform(2 * stream + 1_000_003)))
        return radius * xp.cos(2.0 * math.pi * self.uniform(2 * stream + 1_000_004))
