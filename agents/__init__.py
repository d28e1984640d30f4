"""OpenDeep agents package."""
