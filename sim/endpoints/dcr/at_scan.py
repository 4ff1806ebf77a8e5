"""DCR at one scan: CR, PR or SD at the scan after cycle ``dcr_horizon_cycles`` (e.g. the cycle-8 scan).

Unlike ``controlled``, an earlier progression is not read separately: a patient progressing before
that scan has no such scan (a scan showing progression ends the scans) and counts as failure, as
does one without it by the analysis. Response is the category at that scan.
"""
from __future__ import annotations

import numpy as np

from ...table import CR, PD, PR
from ..common import _scanned_by
from . import DcrDefinition, register


@register
class AtScan(DcrDefinition):
    name = "at_scan"
    description = "CR/PR/SD at the scan after cycle dcr_horizon_cycles (that scan must have happened)"
    order = 3

    def outcomes(self, table, number, scans, cut_day):
        sc = table.scans
        rows = (number == scans - 1) & _scanned_by(table, cut_day)
        category = np.zeros(len(table.patients["arm"]), dtype=np.int8)
        category[sc["patient"][rows]] = sc["category"][rows]
        return (category >= CR) & (category < PD), (category == CR) | (category == PR)

    def label(self, horizon_cycles):
        return f"DCR at the cycle-{horizon_cycles} scan"
