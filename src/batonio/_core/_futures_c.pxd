# Augmenting declarations for Cython pure-Python mode: Future and Task fields.
cimport cython
from cpython.contextvars cimport PyContext_CheckExact, PyContext_CopyCurrent, PyContext_Enter, PyContext_Exit
from cpython.ref cimport PyObject, Py_XDECREF

from batonio._core._scheduler_c cimport LoopCore

cdef extern from "Python.h":
    ctypedef enum PySendResult:
        PYGEN_RETURN
        PYGEN_ERROR
        PYGEN_NEXT
    PySendResult PyIter_Send(object iterator, object arg, PyObject** presult) except PYGEN_ERROR


cdef extern from "Python.h":
    void PyErr_SetObject(object type, object value)
    bint PyTuple_Check(object o)
    bint PyExceptionInstance_Check(object o)


cdef inline bint _set_stop_iteration(object value) noexcept:
    """Leave StopIteration(value) pending for tp_iternext's NULL return; False if it cannot.

    PyErr_SetObject would take a tuple for the exception's arguments and an exception for
    the instance itself: those values need a real StopIteration object.
    """
    if PyTuple_Check(value) or PyExceptionInstance_Check(value):
        return False
    PyErr_SetObject(StopIteration, value)
    return True


cdef inline object _send_none(object coro, bint* finished):
    """coro.send(None) through PyIter_Send: ``finished`` tells a return from a yield."""
    cdef PyObject* result = NULL
    cdef PySendResult status = PyIter_Send(coro, None, &result)
    value = <object>result
    Py_XDECREF(result)
    finished[0] = status == PYGEN_RETURN
    return value

cdef object _PENDING, _CANCELLED, _FINISHED, _TASK_WAITER
cdef object _CancelledError, _InvalidStateError, _copy_context, _Context
cdef object _enter_task, _leave_task, _current_tasks, _ready_append

cdef type _core_class_seen
cdef LoopCore _core_of(object loop)

cdef object _current_context()
cdef bint _has_task_waiter(list entries)

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

    cpdef _init_future(self, loop)
    cpdef _run(self)
    cpdef _run_done_callback(self, fn, context)
    cpdef _schedule_callbacks(self)
    cpdef _append_callback(self, fn, context)
    cdef _dispatch_callback(self, fn, context, loop, bint ours)

cdef _FutureIter _iter_of(Future fut)

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
    cdef public LoopCore _core_loop

    cpdef _init_task(self, coro, loop, name, context, bint eager_start)
    cpdef _schedule_step(self, exc)
    cpdef _wake_from(self, Future fut)
    cpdef _run(self)
    cpdef _step(self, exc=*)
    cpdef _send(self, exc)
    cpdef _finish(self, value)
    cpdef _handle_yield(self, result)


cdef inline object _call1_in_context(object context, object fn, object arg):
    """Call ``fn(arg)`` inside ``context`` (through its ``run`` if it is not a Context)."""
    if not PyContext_CheckExact(context):
        return context.run(fn, arg)
    PyContext_Enter(context)
    try:
        return fn(arg)
    finally:
        PyContext_Exit(context)


cdef inline object _step_in_context(Task task, object exc):
    """Run one step of ``task`` inside its context."""
    context = task._context
    if not PyContext_CheckExact(context):
        task._step_in_foreign_context(exc)
        return
    PyContext_Enter(context)
    try:
        task._step(exc)
    finally:
        PyContext_Exit(context)
