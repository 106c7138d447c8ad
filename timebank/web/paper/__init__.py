"""Paper: sheets for members who do not use a computer (a timesheet, what is on offer nearby)."""
