# Augments _locks_c.py (a symlink to _locks_py.py) for Cython's pure-Python mode.
# The classes stay ordinary Python classes: they inherit from LoopBound (a Python class)
# and users subclass and introspect them as they do asyncio's; Cython compiles their
# method bodies.  Typed declarations go here only when a benchmark pays for them.
