"""OpenDeep telephony package."""
