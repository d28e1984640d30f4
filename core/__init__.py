"""OpenDeep core package."""
