"""DCR at the first scan: CR, PR or SD at the first post-baseline scan (after cycle 4 here)."""
from __future__ import annotations

from ..common import disease_control, first_scan_category, response
from . import DcrDefinition, register


@register
class FirstScan(DcrDefinition):
    name = "first_scan"
    description = "CR/PR/SD at the first post-baseline scan"
    uses_horizon = False
    same_as_first_scan = True
    order = 0

    def outcomes(self, table, number, scans, cut_day):
        first = first_scan_category(table, cut_day)
        return disease_control(first), response(first)

    def label(self, horizon_cycles):
        return "DCR first scan"
