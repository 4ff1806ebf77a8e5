"""Simon's (1989) two-stage designs: published designs, an independent brute-force search, exact
operating characteristics by full enumeration, and bad input."""

import itertools
import math
import time
from functools import cache

import pytest
from scipy.stats import binom

from sim.stats.simon import simon_designs, simon_oc


def _printed(value: float, shown: float, places: int, slack: float = 0.5) -> bool:
    """``value`` agrees with a table entry ``shown`` printed to ``places`` decimals."""
    return abs(value - shown) <= slack * 10.0 ** -places + 1e-12


# --- 1. Published designs -----------------------------------------------------------------------
#
# (a) Simon (1989), Controlled Clinical Trials 10:1-10, Table 1 (p. 4): optimal designs for
#     alpha = 0.05, beta = 0.20, p1 = p0 + 0.20, as transcribed in
#     github.com/kkmann/BinaryTwoStageDesigns, test/test_SampleSize.jl (commit 1fd6021a8de2) and
#     test/test_BinaryTwoStageDesign.jl ("cf. Simon, R ... Controlled Clinical Trials 10:1-10 (1989).
#     (p. 4)"): (r1, n1, r, n) and EN(p0) to one decimal ("compare expected sample size with
#     publication"). Columns: p0, p1, r1, n1, r, n, EN0.
SIMON_TABLE1_OPTIMAL = [
    (0.1, 0.3, 1, 10, 5, 29, 15.0),
    (0.2, 0.4, 3, 13, 12, 43, 20.6),
    (0.3, 0.5, 5, 15, 18, 46, 23.6),
    (0.4, 0.6, 7, 16, 23, 46, 24.5),
    (0.5, 0.7, 8, 15, 26, 43, 23.5),
    (0.6, 0.8, 7, 11, 30, 43, 20.5),
    (0.7, 0.9, 4, 6, 22, 27, 14.8),
]

# (b) Qin F, Wu J, Chen F, Wei Y, Zhao Y, Jiang Z, Bai J, Yu H (2020), BMC Med Res Methodol,
#     doi:10.1186/s12874-020-01017-8, PMID 32434577, PMCID PMC7240995 (a comparison of the minimax,
#     optimal and admissible criteria in Simon's and Fleming's two-stage designs), table "Optimal,
#     minimax and admissible design for Simon's two-stage design", as shown at
#     https://www.ai-bt.com/si.php?db=pubmed&id=32434577. Recomputed designs, not Simon's own table:
#     optimal and minimax designs with attained alpha and power (3 decimals), PET(p0) (3 decimals) and
#     EN(p0) (1 decimal).
#     Columns: p0, p1, alpha, beta, kind, attained alpha, attained power, n1, r1, PET0, n, r, EN0.
#     That table's last digit looks rounded twice in places (minimax 0.30/0.50: alpha 0.045499 is
#     printed 0.046; optimal 0.05/0.25 at 0.10/0.10: EN0 14.546 is printed 14.6), so its entries are
#     compared with a slack of 0.55 (not 0.5) units of the last printed digit.
QIN_2020 = [
    (0.05, 0.25, 0.05, 0.20, "optimal", 0.047, 0.812, 9, 0, 0.630, 17, 2, 12.0),
    (0.05, 0.25, 0.05, 0.20, "minimax", 0.043, 0.801, 12, 0, 0.540, 16, 2, 13.8),
    (0.10, 0.30, 0.05, 0.20, "optimal", 0.047, 0.805, 10, 1, 0.736, 29, 5, 15.0),
    (0.10, 0.30, 0.05, 0.20, "minimax", 0.033, 0.802, 15, 1, 0.549, 25, 5, 19.5),
    (0.30, 0.50, 0.05, 0.20, "optimal", 0.050, 0.803, 15, 5, 0.722, 46, 18, 23.6),
    (0.30, 0.50, 0.05, 0.20, "minimax", 0.046, 0.804, 19, 6, 0.666, 39, 16, 25.7),
    (0.05, 0.25, 0.10, 0.10, "optimal", 0.093, 0.903, 9, 0, 0.630, 24, 2, 14.6),
    (0.05, 0.25, 0.10, 0.10, "minimax", 0.074, 0.903, 13, 0, 0.513, 20, 2, 16.4),
]


@cache
def _designs(p0, p1, alpha, power, nmax=None):
    return simon_designs(p0, p1, alpha, power, nmax=nmax)


@pytest.mark.parametrize("p0, p1, r1, n1, r, n, en0", SIMON_TABLE1_OPTIMAL)
def test_optimal_designs_of_simon_1989_table_1(p0, p1, r1, n1, r, n, en0):
    d = _designs(p0, p1, 0.05, 0.80)["optimal"]
    assert (d["r1"], d["n1"], d["r"], d["n"]) == (r1, n1, r, n)
    assert _printed(d["en0"], en0, 1)


@pytest.mark.parametrize("p0, p1, alpha, beta, kind, a, pw, n1, r1, pet0, n, r, en0", QIN_2020)
def test_optimal_and_minimax_designs_of_qin_2020(p0, p1, alpha, beta, kind, a, pw, n1, r1, pet0, n, r, en0):
    d = _designs(p0, p1, alpha, 1 - beta)[kind]
    assert (d["r1"], d["n1"], d["r"], d["n"]) == (r1, n1, r, n)
    assert _printed(d["alpha"], a, 3, 0.55)
    assert _printed(d["power"], pw, 3, 0.55)
    assert _printed(d["pet0"], pet0, 3, 0.55)
    assert _printed(d["en0"], en0, 1, 0.55)


def test_the_well_known_cells_to_the_printed_precision():
    """The cells usually quoted from Simon's Table 1, with the values of (b) and (a) above: p0 = 0.05,
    p1 = 0.25: optimal 0/9, 2/17 (PET0 0.63; EN0 11.96, printed 12.0 in (b)), minimax 0/12, 2/16
    (EN0 13.8, PET0 0.54); p0 = 0.10, p1 = 0.30: optimal 1/10, 5/29 (EN0 15.0), minimax 1/15, 5/25
    (EN0 19.5); alpha 0.05, beta 0.20."""
    d = _designs(0.05, 0.25, 0.05, 0.80)
    assert (d["optimal"]["r1"], d["optimal"]["n1"], d["optimal"]["r"], d["optimal"]["n"]) == (0, 9, 2, 17)
    assert _printed(d["optimal"]["pet0"], 0.63, 2) and _printed(d["optimal"]["en0"], 12.0, 1)
    assert d["optimal"]["pet0"] == pytest.approx(0.95 ** 9, rel=1e-12)  # P(no response in 9)
    assert d["optimal"]["en0"] == pytest.approx(9 + (1 - 0.95 ** 9) * 8, rel=1e-12)
    assert (d["minimax"]["r1"], d["minimax"]["n1"], d["minimax"]["r"], d["minimax"]["n"]) == (0, 12, 2, 16)
    assert _printed(d["minimax"]["pet0"], 0.54, 2) and _printed(d["minimax"]["en0"], 13.8, 1)
    d = _designs(0.10, 0.30, 0.05, 0.80)
    assert (d["optimal"]["r1"], d["optimal"]["n1"], d["optimal"]["r"], d["optimal"]["n"]) == (1, 10, 5, 29)
    assert _printed(d["optimal"]["en0"], 15.0, 1)
    assert (d["minimax"]["r1"], d["minimax"]["n1"], d["minimax"]["r"], d["minimax"]["n"]) == (1, 15, 5, 25)
    assert _printed(d["minimax"]["en0"], 19.5, 1)


# --- 2. An independent brute-force search ---------------------------------------------------------


@cache
def _pmf(m: int, p: float) -> list[float]:
    return [float(binom.pmf(x, m, p)) for x in range(m + 1)]


def _brute_force(p0, p1, alpha, power, nmax):
    """Every design (r1, n1, r, n) with n <= nmax, 0 <= r1 < n1 < n and r1 <= r <= n, evaluated by
    plain sums over x1 and x2; the feasible ones ranked by Simon's criteria. Returns
    {"optimal": (r1, n1, r, n), "minimax": (r1, n1, r, n)}; ties by (n, n1, r) / (n1, r)."""
    feasible = []  # (en0, n, n1, r1, r)
    for n in range(2, nmax + 1):
        for n1 in range(1, n):
            n2 = n - n1
            f0, f1 = _pmf(n1, p0), _pmf(n1, p1)
            g0, g1 = _pmf(n2, p0), _pmf(n2, p1)
            for r1 in range(n1):
                en0 = n1 + sum(f0[r1 + 1:]) * n2
                for r in range(r1, n + 1):
                    # P(reject) = sum over x1 > r1 and x2 with x1 + x2 > r
                    rej0 = sum(f0[x1] * g0[x2] for x1 in range(r1 + 1, n1 + 1) for x2 in range(n2 + 1)
                               if x1 + x2 > r)
                    if rej0 > alpha:
                        continue
                    rej1 = sum(f1[x1] * g1[x2] for x1 in range(r1 + 1, n1 + 1) for x2 in range(n2 + 1)
                               if x1 + x2 > r)
                    if rej1 >= power:
                        feasible.append((en0, n, n1, r1, r))
    best_en = min(f[0] for f in feasible)
    optimal = min((f for f in feasible if f[0] <= best_en + 1e-9), key=lambda f: (f[1], f[2], f[4]))
    n_min = min(f[1] for f in feasible)
    at_min = [f for f in feasible if f[1] == n_min]
    en_min = min(f[0] for f in at_min)
    minimax = min((f for f in at_min if f[0] <= en_min + 1e-9), key=lambda f: (f[2], f[4]))
    return {"optimal": (optimal[3], optimal[2], optimal[4], optimal[1]),
            "minimax": (minimax[3], minimax[2], minimax[4], minimax[1])}


def _key(d):
    return d["r1"], d["n1"], d["r"], d["n"]


# (p0, p1, alpha, power), all with optimal n <= BRUTE_NMAX (checked below)
BRUTE_CELLS = [
    (0.10, 0.40, 0.10, 0.80),
    (0.20, 0.50, 0.10, 0.80),
    (0.30, 0.60, 0.10, 0.80),
    (0.40, 0.70, 0.10, 0.80),
    (0.10, 0.30, 0.10, 0.80),
    (0.20, 0.50, 0.05, 0.80),
    (0.15, 0.45, 0.10, 0.90),
    (0.60, 0.90, 0.10, 0.90),
]
BRUTE_NMAX = 20


@pytest.mark.parametrize("p0, p1, alpha, power", BRUTE_CELLS)
def test_agrees_with_a_brute_force_search(p0, p1, alpha, power):
    ref = _brute_force(p0, p1, alpha, power, BRUTE_NMAX)
    restricted = simon_designs(p0, p1, alpha, power, nmax=BRUTE_NMAX)
    assert (_key(restricted["optimal"]), _key(restricted["minimax"])) == (ref["optimal"], ref["minimax"])
    # the default search (proved optimum, no nmax) finds the same designs: its optimum has n <= 20,
    # where the brute force looked at every design
    auto = _designs(p0, p1, alpha, power)
    assert auto["optimal"]["n"] <= BRUTE_NMAX
    assert (_key(auto["optimal"]), _key(auto["minimax"])) == (ref["optimal"], ref["minimax"])


def test_a_small_nmax_gives_the_best_design_within_it():
    """p0 = 0.05, p1 = 0.20, alpha 0.10, power 0.80: the optimum has n = 24 and the minimax n = 21;
    with nmax = 22 both the search and the brute force return the best design with n <= 22."""
    auto = _designs(0.05, 0.20, 0.10, 0.80)
    assert auto["optimal"]["n"] == 24 and auto["minimax"]["n"] == 21
    ref = _brute_force(0.05, 0.20, 0.10, 0.80, 22)
    got = simon_designs(0.05, 0.20, 0.10, 0.80, nmax=22)
    assert (_key(got["optimal"]), _key(got["minimax"])) == (ref["optimal"], ref["minimax"])
    assert got["minimax"] == auto["minimax"]
    assert got["optimal"]["n"] <= 22 and got["optimal"]["en0"] > auto["optimal"]["en0"]


# --- 3. Constraints and exact operating characteristics -------------------------------------------

ALL_CELLS = sorted({(p0, p1, 0.05, 0.80) for p0, p1, *_ in SIMON_TABLE1_OPTIMAL}
                   | {(p0, p1, alpha, 1 - beta) for p0, p1, alpha, beta, *_ in QIN_2020}
                   | set(BRUTE_CELLS))


def _enumerate(r1, n1, r, n, p):
    """PET, P(reject) and E(patients) by summing over every outcome (x1, x2) of both stages."""
    n2 = n - n1
    pet = reject = en = 0.0
    for x1 in range(n1 + 1):
        b1 = math.comb(n1, x1) * p ** x1 * (1 - p) ** (n1 - x1)
        if x1 <= r1:
            pet += b1
            en += b1 * n1
            continue
        for x2 in range(n2 + 1):
            b = b1 * math.comb(n2, x2) * p ** x2 * (1 - p) ** (n2 - x2)
            en += b * n
            if x1 + x2 > r:
                reject += b
    return pet, reject, en


@pytest.mark.parametrize("p0, p1, alpha, power", ALL_CELLS)
def test_the_designs_meet_the_constraints_and_their_characteristics_are_exact(p0, p1, alpha, power):
    designs = _designs(p0, p1, alpha, power)
    for kind, d in designs.items():
        assert d["alpha"] <= alpha and d["power"] >= power, (kind, d)
        assert 0 <= d["r1"] < d["n1"] < d["n"] and d["r1"] <= d["r"] <= d["n"]
        for p in (p0, p1, (p0 + p1) / 2):
            oc = simon_oc(d["r1"], d["n1"], d["r"], d["n"], p)
            pet, reject, en = _enumerate(d["r1"], d["n1"], d["r"], d["n"], p)
            assert oc["pet"] == pytest.approx(pet, abs=1e-12)
            assert oc["reject"] == pytest.approx(reject, abs=1e-12)
            assert oc["en"] == pytest.approx(en, rel=1e-12)
        null = simon_oc(d["r1"], d["n1"], d["r"], d["n"], p0)
        alt = simon_oc(d["r1"], d["n1"], d["r"], d["n"], p1)
        assert d["pet0"] == pytest.approx(null["pet"], abs=1e-14)
        assert d["en0"] == pytest.approx(null["en"], rel=1e-13)
        assert d["alpha"] == pytest.approx(null["reject"], abs=1e-14)
        assert d["power"] == pytest.approx(alt["reject"], abs=1e-14)
        # r is the least final boundary that keeps alpha (a smaller r only raises the type I error)
        if d["r"] > d["r1"]:
            assert simon_oc(d["r1"], d["n1"], d["r"] - 1, d["n"], p0)["reject"] > alpha
    # the optimal design's EN(p0) is the least, and no feasible design has a smaller n than the minimax
    assert designs["optimal"]["en0"] <= designs["minimax"]["en0"] + 1e-9
    assert designs["minimax"]["n"] <= designs["optimal"]["n"]
    with pytest.raises(ValueError, match="no two-stage design"):
        simon_designs(p0, p1, alpha, power, nmax=designs["minimax"]["n"] - 1)


def test_simon_oc_at_the_edges():
    # r1 = n1: the trial never continues
    assert simon_oc(3, 3, 4, 8, 0.4) == {"pet": pytest.approx(1.0), "reject": 0.0, "en": pytest.approx(3.0)}
    # p = 0 and p = 1
    assert simon_oc(0, 5, 2, 10, 0.0) == {"pet": 1.0, "reject": 0.0, "en": 5.0}
    assert simon_oc(0, 5, 2, 10, 1.0) == {"pet": 0.0, "reject": 1.0, "en": 10.0}
    for r1, n1, r, n in itertools.product(range(3), range(3, 5), range(6), (5, 7)):
        if r1 <= n1 <= n and r <= n:
            oc = simon_oc(r1, n1, r, n, 0.37)
            assert (oc["pet"], oc["reject"], oc["en"]) == pytest.approx(_enumerate(r1, n1, r, n, 0.37), abs=1e-12)


def test_the_search_is_fast():
    for cell in ((0.05, 0.25, 0.05, 0.80), (0.20, 0.40, 0.05, 0.80), (0.70, 0.90, 0.05, 0.80)):
        start = time.perf_counter()
        simon_designs(*cell)
        assert time.perf_counter() - start < 5.0, cell


# --- 4. Bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    ((0.3, 0.3, 0.05, 0.8), "p0 must be less than p1"),
    ((0.4, 0.2, 0.05, 0.8), "p0 must be less than p1"),
    ((0.0, 0.2, 0.05, 0.8), "p0 must lie strictly between 0 and 1"),
    ((0.1, 1.0, 0.05, 0.8), "p1 must lie strictly between 0 and 1"),
    ((-0.1, 0.2, 0.05, 0.8), "p0"),
    ((0.1, 0.3, 0.0, 0.8), "alpha"),
    ((0.1, 0.3, 1.0, 0.8), "alpha"),
    ((0.1, 0.3, 0.05, 1.0), "power"),
    ((0.1, 0.3, 0.05, 0.0), "power"),
    ((float("nan"), 0.3, 0.05, 0.8), "p0"),
    ((0.1, 0.3, 0.05, "0.8"), "power"),
    ((True, 0.3, 0.05, 0.8), "p0"),
])
def test_simon_designs_rejects_bad_probabilities(args, message):
    with pytest.raises(ValueError, match=message):
        simon_designs(*args)


def test_simon_designs_rejects_a_too_small_or_bad_nmax():
    with pytest.raises(ValueError, match="no two-stage design with n <= 20"):
        simon_designs(0.2, 0.4, 0.05, 0.8, nmax=20)  # even a single-stage test needs more
    with pytest.raises(ValueError, match="no two-stage design with n <= 32"):
        simon_designs(0.2, 0.4, 0.05, 0.8, nmax=32)  # the minimax design has n = 33
    for bad in (1, 0, 30.5, "40"):
        with pytest.raises(ValueError, match="nmax"):
            simon_designs(0.2, 0.4, 0.05, 0.8, nmax=bad)


@pytest.mark.parametrize("args", [
    (2, 1, 3, 5, 0.3),   # r1 > n1
    (0, 6, 3, 5, 0.3),   # n < n1
    (0, 0, 3, 5, 0.3),   # n1 = 0
    (0, 2, 6, 5, 0.3),   # r > n
    (-1, 2, 3, 5, 0.3),  # r1 < 0
    (0, 2, 3, 5, 1.5),   # p > 1
    (0, 2, 3, 5, -0.1),
    (0, 2.5, 3, 5, 0.3),
])
def test_simon_oc_rejects_bad_designs(args):
    with pytest.raises(ValueError):
        simon_oc(*args)
