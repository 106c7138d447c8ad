"""`python -m bench`: run every benchmark and write bench/results/."""

from bench import ledger

if __name__ == "__main__":
    ledger.main()
