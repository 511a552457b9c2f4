"""Pure conversion: label bytes in → 1-bit rasters at the printer's own resolution. No I/O."""
