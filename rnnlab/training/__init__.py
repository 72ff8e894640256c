"""One run: the LightningModule, its configuration checks, its record (metrics.json) and exact resume."""
