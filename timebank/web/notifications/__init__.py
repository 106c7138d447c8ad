"""Notifications page (sending lives in timebank/core/notify.py)."""
