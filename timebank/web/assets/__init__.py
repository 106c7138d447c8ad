"""Community assets: the register, its map, imports and exports, coverage gaps."""
