"""Validated field types shared by the scenario schema and the design kinds (pydantic).

Units are in field names (``_days``, ``_months``, ``_prob``); ``Strict`` models refuse unknown keys,
so a typo is an error naming the allowed fields rather than a silently ignored line.

Every time an input gives is at most 50 years (``MAX_MONTHS``, or ``MAX_DAYS`` in days): a median, a
horizon (accrual, follow-up, analysis), a duration, a cycle. Beyond that the input is a typo, and
how long a trial is simulated decides how many patients arrive and how many scans and cycles each
has, that is the memory and time a trial takes (issue 12: one trial accruing for a million months
used 4.26 GB).
The schema (``sim/scenario/schema.py``) also bounds what several fields make together.
"""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from .units import DAYS_PER_MONTH

#: The longest time an input may give, in months: 50 years.
MAX_MONTHS = 600.0
#: The same in days (18,262.5): durations and schedules given in days.
MAX_DAYS = MAX_MONTHS * DAYS_PER_MONTH
#: The highest cycle number an input may name (a scan after it, a DCR horizon): daily cycles for 50 years.
MAX_CYCLES = int(MAX_DAYS)


def _not_bool(value):
    """pydantic reads true/false as 1/0; YAML also reads yes/no/on/off as true/false."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, not {str(value).lower()} (YAML reads true/false, yes/no and "
                         f"on/off as true/false)")
    return value


Number = BeforeValidator(_not_bool)
Prob = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False), Number]
OpenProb = Annotated[float, Field(gt=0.0, lt=1.0, allow_inf_nan=False), Number]
PosFloat = Annotated[float, Field(gt=0.0, allow_inf_nan=False), Number]
NonNegFloat = Annotated[float, Field(ge=0.0, allow_inf_nan=False), Number]
PosInt = Annotated[int, Field(gt=0), Number]
#: A median survival time or a horizon in months: positive, and at most 50 years.
Months = Annotated[float, Field(gt=0.0, le=MAX_MONTHS, allow_inf_nan=False), Number]
#: A time point or a time since an event, in months: from 0 to 50 years.
NonNegMonths = Annotated[float, Field(ge=0.0, le=MAX_MONTHS, allow_inf_nan=False), Number]
#: A duration in days: positive, and at most 50 years.
Days = Annotated[float, Field(gt=0.0, le=MAX_DAYS, allow_inf_nan=False), Number]
#: A duration in days that may be 0, at most 50 years.
NonNegDays = Annotated[float, Field(ge=0.0, le=MAX_DAYS, allow_inf_nan=False), Number]
#: A number of treatment cycles: 1 to ``MAX_CYCLES``.
Cycles = Annotated[int, Field(gt=0, le=MAX_CYCLES), Number]


class Strict(BaseModel):
    """Unknown keys are errors; models are immutable once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


Pair = tuple[PosFloat, PosFloat]
