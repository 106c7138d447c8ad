"""Offers and requests (routes, forms, service)."""
