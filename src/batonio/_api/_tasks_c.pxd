# Augmenting declarations for the compiled build of _tasks_py.py (Cython pure-Python mode).
# Deliberately minimal: the module compiles as plain Python objects; add typed fields here
# only with a benchmark in benchmarks/ that shows the gain.
