"""Exchanges: recording, confirming and correcting time (writes go through ledger.py)."""
