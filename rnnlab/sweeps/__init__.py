"""Sweeps as studies: the jobs of a sweep directory, the end-of-sweep summary, the table, plots and report."""
