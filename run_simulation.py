"""Run the simulator: ``python run_simulation.py`` runs scenarios/default.yaml.

A thin wrapper of the ``rechallenge-sim`` command; any of its arguments work here too.
"""
import sys

from sim.cli import main

if __name__ == "__main__":
    sys.exit(main())
