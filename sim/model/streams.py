"""Random streams: replicate i draws only from children of SeedSequence(seed) keyed by i.

Within a replicate, patient k (in order of arrival for screening) always gets the same row
of uniforms, whatever the sample size, allocation or effect size: every draw is an inverse
CDF of a fixed column. Designs that change the simulation therefore stay paired (common
random numbers). Rows come in blocks of ``BLOCK`` patients, each block from its own child
stream, so a trial that screens more patients draws more blocks without shifting earlier ones.
"""
from __future__ import annotations

import numpy as np

BLOCK = 64

# Column layout of a patient's row of uniforms.
ARRIVAL = 0          # exponential gap in cumulative-intensity space
TURNAROUND = 1       # first assay turnaround
TURNAROUND_RETEST = 2
DEATH_WAITING = 3
ASSAY_FAIL = 4
ASSAY_FAIL_RETEST = 5
MONTHS_SINCE_CETUXIMAB = 6
TRULY_MUTANT = 7
ASSAY_CALL = 8       # sensitivity / specificity
NON_MOLECULAR = 9
STRATA = 10          # up to MAX_STRATA columns
MAX_STRATA = 5
BACKBONE = 15
PFS = 16
PFS_EVENT_TYPE = 17
PPS = 18
RESPONDER = 19
COMPLETE_RESPONSE = 20
TOXICITY_STOP = 21
WITHDRAWAL = 22
CLINICAL = 23
CYCLE_DELAYS = 24    # one column per cycle from cycle 2 on, reused cyclically
N_DELAY_COLUMNS = 104  # four years of 14-day cycles before a column is reused
WIDTH = CYCLE_DELAYS + N_DELAY_COLUMNS

# Purposes of child streams of a replicate.
PATIENTS = 0
RANDOMIZATION = 1


def child(seed: int, replicate: int, purpose: int, index: int) -> np.random.Generator:
    """Generator for one (replicate, purpose, index): independent of every other triple."""
    ss = np.random.SeedSequence(entropy=seed, spawn_key=(replicate, purpose, index))
    return np.random.Generator(np.random.PCG64(ss))


class PatientUniforms:
    """Rows of uniforms by patient index, drawn a block at a time on demand."""

    def __init__(self, seed: int, replicate: int):
        self.seed = seed
        self.replicate = replicate
        self.blocks: list[np.ndarray] = []

    def block(self, b: int) -> np.ndarray:
        while len(self.blocks) <= b:
            g = child(self.seed, self.replicate, PATIENTS, len(self.blocks))
            # Strictly inside (0, 1): safe for -log(u) and for every inverse CDF.
            self.blocks.append(np.maximum(g.random((BLOCK, WIDTH)), 2.0**-64))
        return self.blocks[b]
