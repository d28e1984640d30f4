"""OpenDeep ui package."""
