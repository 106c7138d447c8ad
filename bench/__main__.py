"""`python -m bench [name ...]`: run the benchmarks and write bench/results/."""

import sys

from bench import ledger, matching

BENCHMARKS = {"ledger": ledger.main, "matching": matching.main}

if __name__ == "__main__":
    for name in sys.argv[1:] or BENCHMARKS:
        BENCHMARKS[name]()
