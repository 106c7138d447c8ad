"""Notifications page (sending lives in timebank/notify.py)."""
