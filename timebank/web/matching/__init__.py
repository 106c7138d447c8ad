"""Matching: ranking candidates (ranking.py), introductions (brokering.py), their pages."""
