"""OpenDeep graphs package."""
