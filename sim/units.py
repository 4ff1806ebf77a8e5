"""Units shared by every stage: times are days inside the model, months in inputs and reports."""
from __future__ import annotations

#: Days per month: a Julian year of 365.25 days over 12 months (1 month = 30.4375 days).
DAYS_PER_MONTH = 365.25 / 12.0
