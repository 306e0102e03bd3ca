"""The keras-tuner search of `python -m recipes.tune`: space, trials, folder, results, processes.

command_line.py  the tuner's flags from the option declarations, parsed into one `SearchRequest`
hypermodel.py    the search space on keras-tuner's `HyperParameters`, and the hypermodel of a trial
tuners.py        keras-tuner's tuners with this project's hooks, the search, its report, the best retrained
folder.py        the search folder: search.json checked, keras-tuner's state kept as a last good copy
results.py       trials read back, results.csv, results.md, search.png, the best trial
launcher.py      a chief and workers on this machine
"""
