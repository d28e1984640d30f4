"""The application layer: what wires the parts into a running node, and the `opendeep` command.

The only package that may import every other one (see the import contract in pyproject.toml).
"""
