"""rnnlab: an experiment lab for vanilla (Elman) RNNs."""
