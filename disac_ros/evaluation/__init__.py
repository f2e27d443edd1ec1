"""The paper's evaluation (Sec. V): offline metrics of trained runs, communication cost, reports and the benchmark.

* :mod:`~disac_ros.evaluation.paper` - the paper's published numbers (Table III, Sec. V-B) and targets.
* :mod:`~disac_ros.evaluation.offline` - NMSE (Eq. 59), RMSE (Eq. 60) and accuracy (Eq. 61) of one run on a split,
  per link SNR and per aggregation center, on normalised and SI values (``disac evaluate --run``).
* :mod:`~disac_ros.evaluation.cost` - bytes of raw data vs the semantic code, Shannon rate and delay (Eqs. 9-10) and
  the execution time of Eq. (14) measured stage by stage.
* :mod:`~disac_ros.evaluation.report` - ``report.md``, the PNG plots (Figs. 5-10) and ``results.json``.
* :mod:`~disac_ros.evaluation.benchmark` - ``disac benchmark``: train and evaluate every scheme and decoder.
"""
