"""OpenDeep media package."""
