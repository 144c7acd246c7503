"""Placement, routing, pins and floorplans that assemble cells into a macro."""
