"""Mergeable accumulators for summaries over any number of replicates in constant memory.

A summary must not depend on how the replicates were cut into chunks (workers, chunk size, a
resumed run). Floating-point sums merged chunk by chunk depend on the order of the additions, so
the accumulators here keep *exact* sums and round once, at the end.

Exact sums of float64 values
----------------------------
A finite float64 x is m * 2**E with m an integer, |m| < 2**53, and E = max(b, 1) - 1075 where b is
the biased exponent field (0 for zero and subnormals, 1..2046 otherwise) and
m = +-(fraction + 2**52 if b > 0 else fraction). So x * 2**1074 = m * 2**(max(b, 1) - 1), an
integer: the sum of any float64 values is an integer count of 2**-1074. Vectorised: split
|m| = hi * 2**26 + lo (hi < 2**27, lo < 2**26); sum the signed limbs per exponent field with
``np.bincount`` (float64 sums of whole numbers are exact while below 2**53: at most 2**15 values
per call keep them below 2**43), keep the per-exponent sums in int64 (2,047 bins), and only at the
end shift them into one Python int:
    S1 * 2**-1074 = sum_b (HI_b * 2**26 + LO_b) * 2**(b - 1) * 2**-1074.
Squares likewise: x**2 * 2**2148 = m**2 * 2**(2 max(b, 1) - 2), and with |m| = a 2**36 + c 2**18 + d
(a < 2**17, c, d < 2**18),
    m**2 = a**2 2**72 + 2ac 2**54 + (2ad + c**2) 2**36 + 2cd 2**18 + d**2,
five limbs each below 2**37, whose float64 products are exact and whose per-call sums of at most
2**15 values stay below 2**52. The int64 bins hold at least 2**25 values' limbs before they must
be moved into the Python ints (``_flush``). Everything is integer arithmetic from the bits on: the
sums are the same whatever the chunks and their order.

Mean and variance from the exact sums (n values, S1 = sum x, S2 = sum x**2, both exact):
    mean = S1 / n,     var = (S2 - S1**2 / n) / (n - 1) = (n S2 - S1**2) / (n (n - 1)),
each a ratio of Python ints, which Python divides with a single correct rounding; sd = sqrt(var)
rounds once more. This is at least as accurate as numpy's pairwise ``mean`` and two-pass ``std``
(agreement to ~1e-15 relative), and unlike them is exactly the same for any chunking. NaN values
are dropped (as ``mean`` over replicates drops them); infinite values are counted apart and give
the mean numpy would (+-inf, or NaN with both signs) with an undefined variance.

Exact quantiles in two passes
-----------------------------
``np.quantile(v, p)`` ('linear', Hyndman and Fan's 7th) reads the sorted values at ranks floor(h)
and floor(h) + 1, h = (n - 1) p, and interpolates. Pass 1 keeps, per column, a histogram of an
order-preserving uint64 key of each value (key = bits | 2**63 for x >= 0, ~bits for x < 0, so key
order is value order; -0.0 is taken as 0.0), binned on its top 24 bits (sign, exponent, 12 bits of
mantissa: a bin is 1/4096 of a binade, e.g. 0.008 months between 32 and 64 months). The bins are
stored in blocks of 256 sharing their top 16 bits, only for blocks that hold a value: the memory
depends on the range of the values (a column of durations between 16 and 128 months occupies at
most 48 blocks, 100 kB), not on their number, and the histograms merge by addition. Once n is
known, the ranks needed (for each p, floor(h) and floor(h) + 1) fall into a handful of bins,
located by the cumulative counts. Pass 2 keeps only the values that fall in those bins, compressed
as (distinct value, count): the k-th smallest value overall is the (k - values in lower bins)-th of
its bin. The interpolation repeats numpy's own arithmetic (``linear_quantile``), so the result is
the very float ``np.quantile`` returns on the whole column. A bin is a thin slice of the
distribution, so pass 2 holds a small share of the values (at 1,000,000 replicates of the default
scenario, ~31,000 values for its ten duration columns, 0.3% of them), and values shared by many
replicates (trials stopped at accrual.max_months) cost one entry.
"""
from __future__ import annotations

import math

import numpy as np

_EXPONENTS = 2047                 # biased exponent fields of finite float64 values, 0..2046 (0 merged into 1)
_BLOCK = 1 << 15                  # values per exact float64 bincount (limb sums stay below 2**53)
_FLUSH = 1 << 25                  # values whose limbs the int64 bins may hold before moving into Python ints
_MASK52 = np.uint64((1 << 52) - 1)
_SUM_SHIFTS = (26, 0)             # limbs of |m| for the sum: hi * 2**26 + lo
_SQUARE_SHIFTS = (72, 54, 36, 18, 0)  # limbs of m**2 (module docstring)
_M18 = (1 << 18) - 1

SUM_UNIT_EXPONENT = -1074         # ExactMoments.sum counts 2**-1074
SQUARE_UNIT_EXPONENT = -2148      # ExactMoments.sum_of_squares counts 2**-2148


def _fields(v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(exponent bin max(b, 1), |m| as int64, negative) of finite float64 values: v = +-|m| 2**(bin - 1075)."""
    bits = v.view(np.uint64)
    biased = ((bits >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.intp)
    frac = (bits & _MASK52).astype(np.int64)
    magnitude = np.where(biased > 0, frac | np.int64(1 << 52), frac)
    return np.maximum(biased, 1), magnitude, (bits >> np.uint64(63)).astype(bool)


def _limb_sums(v: np.ndarray, column: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per (column, exponent bin) present, the 2 signed limb sums of the values and the 5 limb sums of
    their squares: (columns, bins, sums as int64 of shape (7, groups)), groups sorted by column then
    bin. v: finite float64 values, at most _BLOCK of them; column: the column of each value."""
    bins, m, negative = _fields(v)
    groups, inverse = np.unique(column * _EXPONENTS + bins, return_inverse=True)
    sign = np.where(negative, -1.0, 1.0)
    hi, lo = (m >> 26).astype(float), (m & ((1 << 26) - 1)).astype(float)
    a, c, d = (m >> 36).astype(float), ((m >> 18) & _M18).astype(float), (m & _M18).astype(float)
    weights = np.concatenate([sign * hi, sign * lo, a * a, 2 * a * c, 2 * a * d + c * c, 2 * c * d, d * d])
    index = (np.arange(7)[:, None] * len(groups) + inverse[None, :]).ravel()
    sums = np.bincount(index, weights=weights, minlength=7 * len(groups)).astype(np.int64).reshape(7, len(groups))
    return groups // _EXPONENTS, groups % _EXPONENTS, sums


def add_columns(pairs) -> None:
    """``m.add(values)`` for every (ExactMoments m, values) pair, in a few vectorised operations for all
    of them (the accumulators must be distinct)."""
    pairs = [(m, np.asarray(v, dtype=np.float64).ravel()) for m, v in pairs]
    if not pairs:
        return
    values = np.concatenate([v for _, v in pairs])
    column = np.repeat(np.arange(len(pairs)), [len(v) for _, v in pairs])
    finite = np.isfinite(values)
    if not finite.all():
        for j in np.unique(column[~finite]).tolist():
            v = values[column == j]
            pairs[j][0].pos_inf += int(np.count_nonzero(v == math.inf))
            pairs[j][0].neg_inf += int(np.count_nonzero(v == -math.inf))
        values, column = values[finite], column[finite]
    for start in range(0, len(values), _BLOCK):
        part, owner = values[start: start + _BLOCK], column[start: start + _BLOCK]
        added = np.bincount(owner, minlength=len(pairs))
        for j in np.flatnonzero(added).tolist():
            m = pairs[j][0]
            if m._in_bins + added[j] > _FLUSH:
                m._flush()
            m._in_bins += int(added[j])
            m.n += int(added[j])
        columns, bins, sums = _limb_sums(part, owner)
        # Groups are sorted by column: one slice of them per accumulator.
        edges = np.flatnonzero(np.diff(columns)) + 1
        for lo, hi in zip(np.r_[0, edges].tolist(), np.r_[edges, len(columns)].tolist()):
            pairs[int(columns[lo])][0]._bins[:, bins[lo:hi]] += sums[:, lo:hi]


class ExactMoments:
    """Count, exact sum and exact sum of squares of the non-NaN values added (module docstring).

    ``add`` a chunk of values, ``merge`` another accumulator; both are exact, so the result does not
    depend on the chunks or their order. ``sum`` is in units of 2**-1074, ``sum_of_squares`` of
    2**-2148 (Python ints)."""

    __slots__ = ("n", "pos_inf", "neg_inf", "_bins", "_in_bins", "_sum", "_squares")

    def __init__(self) -> None:
        self.n = 0              # finite values
        self.pos_inf = 0
        self.neg_inf = 0
        self._bins = np.zeros((7, _EXPONENTS), dtype=np.int64)
        self._in_bins = 0       # values whose limbs are in _bins
        self._sum = 0
        self._squares = 0

    def add(self, values) -> None:
        add_columns([(self, values)])

    def merge(self, other: ExactMoments) -> None:
        other._flush()
        self.n += other.n
        self.pos_inf += other.pos_inf
        self.neg_inf += other.neg_inf
        self._sum += other._sum
        self._squares += other._squares

    def _flush(self) -> None:
        """Move the int64 limb bins into the Python-int sums."""
        if self._in_bins == 0:
            return
        b = self._bins
        for k in np.flatnonzero(b.any(axis=0)).tolist():
            self._sum += ((int(b[0, k]) << 26) + int(b[1, k])) << (k - 1)
            squares = sum(int(b[2 + j, k]) << shift for j, shift in enumerate(_SQUARE_SHIFTS))
            self._squares += squares << (2 * k - 2)
        b[:] = 0
        self._in_bins = 0

    @property
    def sum(self) -> int:
        self._flush()
        return self._sum

    @property
    def sum_of_squares(self) -> int:
        self._flush()
        return self._squares

    def mean(self) -> float:
        if self.pos_inf or self.neg_inf:
            return math.nan if self.pos_inf and self.neg_inf else (math.inf if self.pos_inf else -math.inf)
        if self.n == 0:
            return math.nan
        return self.sum / (self.n << -SUM_UNIT_EXPONENT)  # int / int: correctly rounded

    def variance(self) -> float:
        """Sample variance (ddof 1); NaN for fewer than 2 values or with infinite values."""
        n = self.count
        if n < 2 or self.pos_inf or self.neg_inf:
            return math.nan
        s1, s2 = self.sum, self.sum_of_squares
        return (n * s2 - s1 * s1) / ((n * (n - 1)) << -SQUARE_UNIT_EXPONENT)

    def sd(self) -> float:
        return math.sqrt(self.variance())

    @property
    def count(self) -> int:
        """Non-NaN values (finite and infinite), as ``len(v[~isnan(v)])``."""
        return self.n + self.pos_inf + self.neg_inf


def exact_sum(values) -> tuple[int, int]:
    """(sum, sum of squares) of the finite values as Python ints in units of 2**-1074 and 2**-2148."""
    m = ExactMoments()
    m.add(values)
    return m.sum, m.sum_of_squares


# -- quantiles -------------------------------------------------------------------------------------
COARSE_BITS = 16                  # a block of the histogram: the top 16 bits of the key, 1/16 of a binade
FINE_BITS = 8                     # bins per block: 2**8, so a bin is 1/4096 of a binade
KEY_BITS = COARSE_BITS + FINE_BITS
_FINE = 1 << FINE_BITS
_SIGN = np.uint64(1 << 63)


def order_key(v: np.ndarray) -> np.ndarray:
    """uint64 keys in the order of the float64 values (-0.0 counted as 0.0; no NaN)."""
    bits = (np.asarray(v, dtype=np.float64) + 0.0).view(np.uint64)
    return np.where(bits & _SIGN, ~bits, bits | _SIGN)


def _fine_bin(v: np.ndarray) -> np.ndarray:
    """The histogram bin of each value: the top KEY_BITS bits of its order key."""
    return (order_key(v) >> np.uint64(64 - KEY_BITS)).astype(np.int64)


def _virtual_index(n: int, p: float) -> np.float64:
    return (n - 1) * np.asanyarray(p, dtype=np.float64)  # numpy's 'linear' (n - 1) * quantiles


def quantile_ranks(n: int, p: float) -> tuple[int, int, np.float64]:
    """(previous, next, gamma) as ``np.quantile(v, p)`` ('linear') computes them for n sorted values:
    the estimate interpolates the values at ranks previous and next with weight gamma."""
    h = _virtual_index(n, p)
    previous = math.floor(h)
    if h >= n - 1:                # numpy indexes the last value as -1 (and gamma is measured from -1)
        return n - 1, n - 1, np.float64(h - (-1))
    if h < 0:
        return 0, 0, np.float64(h - 0)
    return previous, previous + 1, np.float64(h - previous)


def linear_quantile(n: int, p: float, value_at) -> float:
    """``np.quantile(v, p)`` for n sorted values v with v[k] = value_at(k), by numpy's arithmetic
    (its ``_lerp``: a + (b - a) t, or b - (b - a)(1 - t) for t >= 1/2)."""
    previous, following, gamma = quantile_ranks(n, p)
    a, b = np.float64(value_at(previous)), np.float64(value_at(following))
    diff = b - a
    if gamma >= 0.5:
        return float(b - diff * (1 - gamma))
    return float(a + diff * gamma)


class QuantileColumn:
    """Exact quantiles of a column over replicates in two passes (module docstring).

    Pass 1: ``add`` every chunk's values (NaN dropped). Then ``want(ranks)`` names the order
    statistics needed (0-based ranks among the ``n`` values), pass 2 ``collect``s every chunk's
    values again, and ``value_at(rank)`` reads them."""

    def __init__(self) -> None:
        self.n = 0
        self.blocks: dict[int, np.ndarray] = {}     # coarse bin -> counts of its fine bins (pass 1)
        self._targets: np.ndarray | None = None     # sorted fine bins holding the wanted ranks
        self._expected = np.empty(0, dtype=np.int64)  # their counts in pass 1
        self._collected = np.empty(0, dtype=np.int64)  # their counts in pass 2
        self._parts: list[tuple[np.ndarray, np.ndarray]] = []  # pass-2 (values, counts), not yet merged
        self._pending = 0
        self._values = np.empty(0)                  # merged distinct values of the target bins, sorted
        self._counts = np.empty(0, dtype=np.int64)

    def add(self, values) -> None:
        if self._targets is not None:
            raise RuntimeError("QuantileColumn.add after the second pass began")
        v = np.asarray(values, dtype=np.float64).ravel()
        v = v[~np.isnan(v)]
        if not len(v):
            return
        self.n += len(v)
        fine = _fine_bin(v)
        coarse, inverse = np.unique(fine >> FINE_BITS, return_inverse=True)
        counts = np.bincount(inverse * _FINE + (fine & (_FINE - 1)), minlength=len(coarse) * _FINE)
        for c, row in zip(coarse.tolist(), counts.reshape(len(coarse), _FINE)):
            self._add_block(c, row)

    def _add_block(self, c: int, row: np.ndarray) -> None:
        block = self.blocks.get(c)
        if block is None:
            self.blocks[c] = row.astype(np.int64)
        else:
            block += row

    def merge(self, other: QuantileColumn) -> None:
        """Merge another column's first pass."""
        self.n += other.n
        for c, row in other.blocks.items():
            self._add_block(c, row)

    def _histogram(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(fine bins, their counts, cumulative counts), in value order, over the occupied blocks."""
        coarse = sorted(self.blocks)
        if not coarse:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        bins = (np.asarray(coarse, dtype=np.int64)[:, None] * _FINE + np.arange(_FINE)).ravel()
        counts = np.concatenate([self.blocks[c] for c in coarse])
        return bins, counts, np.cumsum(counts)

    def _locate(self, rank: int) -> tuple[int, int, int]:
        """(fine bin holding the value of this rank, values in lower bins, values in the bin)."""
        bins, counts, through = self._histogram()
        i = int(np.searchsorted(through, rank, side="right"))
        return int(bins[i]), int(through[i] - counts[i]), int(counts[i])

    def want(self, ranks) -> None:
        """Fix the order statistics pass 2 must find; the fine bins holding them become its targets."""
        located = {self._locate(r) for r in ranks if 0 <= r < self.n}
        targets = sorted(located)
        self._targets = np.asarray([b for b, _, _ in targets], dtype=np.int64)
        self._expected = np.asarray([k for _, _, k in targets], dtype=np.int64)
        self._collected = np.zeros(len(targets), dtype=np.int64)

    def collect(self, values) -> None:
        if self._targets is None:
            raise RuntimeError("QuantileColumn.collect before want()")
        if not len(self._targets):
            return
        v = np.asarray(values, dtype=np.float64).ravel()
        v = v[~np.isnan(v)]
        fine = _fine_bin(v)
        where = np.minimum(np.searchsorted(self._targets, fine), len(self._targets) - 1)
        hit = self._targets[where] == fine
        if not hit.any():
            return
        self._collected += np.bincount(where[hit], minlength=len(self._targets))
        kept, counts = np.unique(v[hit] + 0.0, return_counts=True)
        self._parts.append((kept, counts.astype(np.int64)))
        self._pending += len(kept)
        if self._pending > max(4096, 2 * len(self._values)):
            self._merge_parts()

    def _merge_parts(self) -> None:
        if not self._parts:
            return
        values = np.concatenate([self._values] + [v for v, _ in self._parts])
        counts = np.concatenate([self._counts] + [c for _, c in self._parts])
        self._parts, self._pending = [], 0
        self._values, inverse = np.unique(values, return_inverse=True)
        self._counts = np.bincount(inverse, weights=counts, minlength=len(self._values)).astype(np.int64) \
            if len(values) else np.empty(0, dtype=np.int64)

    def held(self) -> int:
        """Distinct values held by the second pass (its memory, in values)."""
        return len(self._values) + self._pending

    def value_at(self, rank: int) -> float:
        """The value of 0-based rank ``rank`` among the n values, after both passes."""
        if self._targets is None:
            raise RuntimeError("QuantileColumn.value_at before the second pass")
        if not np.array_equal(self._collected, self._expected):
            raise RuntimeError("the second pass did not see the values of the first (chunks missing or changed)")
        self._merge_parts()
        b, below, _ = self._locate(rank)
        i = int(np.searchsorted(self._targets, b))
        if i == len(self._targets) or self._targets[i] != b:
            raise KeyError(f"rank {rank} was not requested before the second pass")
        # The kept values are sorted and the bins are in value order: bin b's values follow those of
        # the target bins below it.
        position = int(self._expected[:i].sum()) + rank - below
        return float(self._values[int(np.searchsorted(np.cumsum(self._counts), position, side="right"))])
