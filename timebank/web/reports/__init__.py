"""Reports: what difference the exchanges made, for coordinators and council viewers."""
