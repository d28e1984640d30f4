"""The many-nodes benchmark's parts: node launcher, database, AMI listener, figures."""
