"""`python -m rnnlab.bench`: how fast the lab is. `cli` is the command; the rest is one file per thing measured:

`timing` (interleaved medians), `models` (forward+backward per batch against nn.RNN), `training` (rnnlab.train's
step against a bare PyTorch loop), `sweep` (the joblib launcher against the basic one), `targets` (the speed
targets as met / not met), `tables` (the report as markdown, torch-free), `docs_tables` (the mkdocs hook that renders
docs/speed.md's tables from the committed report, docs/bench/cpu.json).
"""
