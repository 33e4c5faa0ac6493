# Augmenting declarations for Cython pure-Python mode: typed fields of the engine's hot path.
cimport cython
from cpython.contextvars cimport PyContext_CopyCurrent, PyContext_Enter, PyContext_Exit

from cpython.ref cimport PyObject

cdef extern from "Python.h":
    ctypedef struct PyCodeObject:
        int co_flags
    PyObject* PyFunction_GET_CODE(object func)


cdef inline int _function_code_flags(object func):
    """A plain function's code flags, read from the structs (no attribute look-ups)."""
    return (<PyCodeObject*>PyFunction_GET_CODE(func)).co_flags


cdef inline object _call_in_context(object context, object callback, tuple args):
    """Call ``callback(*args)`` inside ``context``, as Context.run does, without its argument repacking."""
    PyContext_Enter(context)
    try:
        return callback(*args)
    finally:
        PyContext_Exit(context)

cdef class Handle:
    cdef public object _context
    cdef public object _loop
    cdef public object _callback
    cdef public object _args
    cdef public bint _cancelled
    cdef public object _repr
    cdef public object _source_traceback
    cdef object __weakref__

    cpdef _run(self)
    cdef _fill(self, callback, args, loop, context, bint debug)

cdef class TimerHandle(Handle):
    cdef public double _when
    cdef public object _when_given
    cdef public unsigned long long _seq
    cdef public bint _scheduled

cdef object _current_context()
cpdef _check_callback(object callback, str method, bint debug)
cdef Handle _new_handle(object callback, tuple args, LoopCore loop, object context)

cdef class LoopCore:
    cdef public object _ready
    cdef public list _scheduled
    cdef public unsigned long long _timer_seq
    cdef public Py_ssize_t _timer_cancelled_count
    cdef public bint _stopping
    cdef public bint _closed
    cdef public bint _debug
    cdef public bint _polling
    cdef public object _thread_id
    cdef public object _clock
    cdef public double _clock_resolution
    cdef public object _poller
    cdef public dict _readers
    cdef public dict _writers
    cdef public Py_ssize_t _io_fd_count
    cdef public double _slow_callback_duration
    cdef public object _current_handle
    cdef public int _wakeup_read_fd
    cdef public int _wakeup_write_fd
    cdef public bint _wakeup_is_eventfd
    cdef public bint _wakeup_pending
    cdef object __weakref__
    cdef dict __dict__
