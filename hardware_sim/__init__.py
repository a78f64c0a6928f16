"""Everything that stands in for hardware or for the central service, speaking the real protocols."""
