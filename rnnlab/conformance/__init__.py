"""Conformance to nn.RNN: numeric parity over a grid and the audit of nn.RNN's whole surface, one concern, one home.

`python -m rnnlab.parity` (or `python -m rnnlab.conformance`) prints both tables.
"""
