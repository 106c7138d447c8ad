"""A second coordinator's answers to what one coordinator may not do alone (four_eyes)."""
