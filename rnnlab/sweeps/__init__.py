"""Sweeps as studies: the jobs of a sweep directory, the end-of-sweep summary, the table, plots and report."""

from rnnlab.record.run_names import register_resolver

# A sweep's job directory is `${rnnlab_varied_dirname:}` (conf/hydra/default.yaml), resolved where the job starts: in
# a launcher's worker too (Hydra's joblib and submitit launchers unpickle the lab's sweep callbacks, from this
# package, before they resolve it).
register_resolver()
