"""Admin: roles and the taxonomies (routes, forms, taxonomy rules)."""
