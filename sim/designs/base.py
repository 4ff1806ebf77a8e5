"""What every design kind is: a validated spec (pydantic) that reads typed counts and decides.

A design kind is one class in one module of this package, registered with ``@register``. Its
fields are the design's resolved settings (validated like the rest of the scenario); from them it
produces its own description (``describe``), declares what it reads of each simulated trial
(``needs``) and decides for a whole chunk of trials at once (``decide``). The scenario schema builds
the ``analysis`` section and its variants from ``REGISTRY``, so a new kind is usable everywhere a
design is (as the primary analysis, as a variant, in compare grids) without touching other files.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from ..fields import Strict
from .counts import ChunkCounts, CountKey, DesignContext, LookKey

#: The columns every design's ``decide`` returns (one value per trial of the chunk): the analyses table.
#: ``stop_look`` is the interim look (1-based) at which the trial stopped, 0 if it did not stop.
DECISION_COLUMNS = (
    "reject", "reject_orr", "reject_pfs", "reject_os", "looked", "stopped", "stop_look", "stopped_for_efficacy",
    "n_rechallenge", "n_control", "n_evaluable_rechallenge", "n_evaluable_control",
    "dcr_successes_rechallenge", "dcr_successes_control", "orr_successes_rechallenge", "orr_successes_control",
    "dcr_difference", "dcr_difference_low", "dcr_difference_high",
    "n_screened", "n_randomized", "accrual_complete", "accrual_months", "duration_months",
)


#: Most interim looks a design may have (the summary catalogues a row per look).
MAX_LOOKS = 10


class Design(Strict):
    """Base of the design kinds (not registered itself)."""

    kind: str
    label: str | None = Field(None, min_length=1, max_length=400,
                              description="a short name shown before the design's generated description")

    #: Kinds are inferred, when a section gives no ``kind``, by asking each kind (highest first)
    #: whether the fields given are its own (``claims``).
    claim_priority: ClassVar[int] = 0

    @classmethod
    def claims(cls, data: dict) -> bool:
        return False

    def describe(self) -> str:
        """The design in words, from its resolved fields (states the test and the level it runs at)."""
        raise NotImplementedError

    @property
    def display(self) -> str:
        """What tables show: the user's short name, if any, then the generated description."""
        return f"{self.label}: {self.describe()}" if self.label else self.describe()

    def needs(self, ctx: DesignContext) -> tuple[tuple[CountKey, ...], tuple[LookKey, ...]]:
        """The counts this design reads of each trial."""
        raise NotImplementedError

    def decide(self, counts: ChunkCounts, ctx: DesignContext) -> dict[str, np.ndarray]:
        """``DECISION_COLUMNS`` for every trial of a chunk."""
        raise NotImplementedError

    def exact_reference(self, planned: tuple[int, int], p_rechallenge: float, p_control: float) -> dict | None:
        """Exact operating characteristics of the plain binomial comparison at the planned arm sizes
        (metric id -> value; no Monte Carlo error), or None where the design has none."""
        return None

    def check(self, ctx: DesignContext) -> list[tuple[str, str]]:
        """Problems of this design in this trial: (field, message) pairs (none by default)."""
        return []

    def fields(self) -> dict:
        """The design's settings as a mapping (the kind and label included)."""
        return self.model_dump(mode="json")
