"""Members: profiles, lookup, approval and suspension (routes, forms, service, lookup)."""
