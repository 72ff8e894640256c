"""Test helpers: the composed config, and faults the CLI tests inject (the CLI imports them from the repo root)."""
