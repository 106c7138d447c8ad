"""The ordinary rhythm of a time bank, which the work queue and its lists keep to: a
week to answer, a week's notice before a listing lapses, ninety days before a quiet
member is missed.

Each list these make is ordered by a time, then by id: rows of the same moment (an
import, a coordinator's batch) come in the same order on every engine and every time.
"""

WAIT_DAYS = 7
EXPIRY_NOTICE_DAYS = 7
QUIET_DAYS = 90
