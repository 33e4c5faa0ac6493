# Augments _queues_c.py (a symlink to _queues_py.py) for Cython's pure-Python mode.
# Queue and its subclasses stay ordinary Python classes (subclass hooks _init/_put/_get
# and __class_getitem__ behave as asyncio's); Cython compiles their method bodies.
