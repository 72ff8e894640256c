"""The lab's record layer: what a run leaves behind and how it is read, free of torch and Lightning.

It sits at the bottom of the house: training, sweeps, launchers, bench and experiments import it; it imports none
of them, so the quick answers (a finished re-run, a sweep's summary, the launchers' setup) stay fast.
"""
