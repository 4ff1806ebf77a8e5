"""The SimPy model of one trial: accrual, screening, randomization, treatment, imaging."""
