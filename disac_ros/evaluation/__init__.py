"""The paper's evaluation (Sec. V): offline metrics of trained runs, communication cost, the Table III suite, report.

* :mod:`~disac_ros.evaluation.paper` - the paper's published numbers (Table III, Sec. V-B) and targets.
* :mod:`~disac_ros.evaluation.offline` - NMSE (Eq. 59), RMSE (Eq. 60) and accuracy (Eq. 61) of one run on a split,
  per link SNR and per aggregation center, on normalised and SI values (``disac evaluate --run``).
* :mod:`~disac_ros.evaluation.estimates` - the same metrics, in SI units, of recorded estimates (a bag's
  ``/targets``) against their ground truth, matched by header stamp and target id (``disac evaluate --bag``).
* :mod:`~disac_ros.evaluation.cost` - bytes of raw data vs the semantic code, Shannon rate and delay (Eqs. 9-10) and
  the execution time of Eq. (14) measured stage by stage.
* :mod:`~disac_ros.evaluation.suite` - the Table III suite behind ``disac benchmark``: the plan of runs (every
  scheme and decoder), its time estimate from ``config/throughput.yaml``, training, evaluating, ``results.json``.
* :mod:`~disac_ros.evaluation.checks` - reading the results dictionary (metrics of a run at an SNR and center, run
  labels) and checking it against Table III's targets and orderings.
* :mod:`~disac_ros.evaluation.plots` - one function per figure: Figs. 5-10 from the results, the training curves and
  the live graph's estimates vs ground truth (``disac demo``).
* :mod:`~disac_ros.evaluation.report` - rendering ``report.md`` (tables, verdicts, the reasons for missed targets)
  and writing ``results.json``, the figures and the report.

Not to be confused with ``benchmarks/`` at the repository root: scripts that measure throughput and print it.
"""
