"""Banks: creating and editing them, their contact details, and switching between them."""
