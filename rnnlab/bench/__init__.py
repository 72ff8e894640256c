"""`python -m rnnlab.bench`: how fast the lab is. `cli` is the command; the rest is one file per thing measured:

`timing` (interleaved medians), `models` (forward+backward per batch against nn.RNN), `training` (rnnlab.train's
step against a bare PyTorch loop), `sweep` (the joblib launcher against the basic one), `targets` (the speed
targets as met / not met).
"""
