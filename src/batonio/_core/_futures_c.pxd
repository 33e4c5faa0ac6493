# Augmenting declarations for Cython pure-Python mode: Future and Task fields.
cimport cython
from cpython.contextvars cimport PyContext_Enter, PyContext_Exit

cdef object _PENDING, _CANCELLED, _FINISHED, _TASK_WAITER
cdef object _CancelledError, _InvalidStateError, _copy_context
cdef object _enter_task, _leave_task

cdef class _FutureIter:
    cdef Future _fut
    cdef bint _yielded

cdef class Future:
    cdef public object _state
    cdef public object _result
    cdef public object _exception
    cdef public object _exception_tb
    cdef public object _loop
    cdef public object _source_traceback
    cdef public object _cancel_message
    cdef public object _cancelled_exc
    cdef public bint _asyncio_future_blocking
    cdef public bint _log_tb
    cdef public object _cb0
    cdef public object _ctx0
    cdef public list _cb_rest
    cdef object __weakref__

    cpdef _schedule_callbacks(self)
    cpdef _append_callback(self, fn, context)

cdef class Task(Future):
    cdef public bint _log_destroy_pending
    cdef public bint _must_cancel
    cdef public object _fut_waiter
    cdef public Py_ssize_t _num_cancels_requested
    cdef public object _step_exc
    cdef public object _wakeup_from
    cdef public object _coro
    cdef public object _name
    cdef public object _context
    cdef public object _parent
    cdef public object _ready_append

    cpdef _schedule_step(self, exc)
    cpdef _wake_from(self, Future fut)
    cpdef _run(self)
    cpdef _step(self, exc=*)
    cpdef _send(self, exc)
    cpdef _handle_yield(self, result)
