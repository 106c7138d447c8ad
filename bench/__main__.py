"""`python -m bench [name ...]`: run the benchmarks and write bench/results/."""

import sys

from bench import city, compare, ledger, map, matching, reports, viewport  # noqa: A004 - bench/map.py

BENCHMARKS = {"ledger": ledger.main, "matching": matching.main, "map": map.main,
              "reports": reports.main, "viewport": viewport.main, "city": city.main}
# Run by name only: this code beside an earlier commit's (BENCH_BEFORE), on the city.
BY_NAME = {**BENCHMARKS, "compare": compare.main}

if __name__ == "__main__":
    for name in sys.argv[1:] or BENCHMARKS:
        BY_NAME[name]()
