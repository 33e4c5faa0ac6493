# Augmenting declarations for Cython pure-Python mode: typed fields of the engine's hot path.
cimport cython
from cpython.contextvars cimport PyContext_CheckExact, PyContext_CopyCurrent, PyContext_Enter, PyContext_Exit

from cpython.ref cimport PyObject


cdef inline object _call_in_context(object context, object callback, tuple args):
    """Call ``callback(*args)`` inside ``context``, as Context.run does, without its argument repacking.

    A ``context=`` that is not a Context goes through its ``run``, as asyncio's Handle does.
    """
    if not PyContext_CheckExact(context):
        return context.run(callback, *args)
    PyContext_Enter(context)
    try:
        return callback(*args)
    finally:
        PyContext_Exit(context)

cdef extern from "sys/epoll.h" nogil:
    ctypedef union epoll_data_t:
        void *ptr
        int fd
        unsigned int u32
        unsigned long long u64
    struct epoll_event:
        unsigned int events
        epoll_data_t data
    int epoll_wait(int epfd, epoll_event *events, int maxevents, int timeout)

cdef extern from "errno.h":
    int errno
    int EINTR

from cpython.exc cimport PyErr_CheckSignals

cdef enum:
    _MAX_EVENTS = 512

cdef inline int _errno() noexcept:
    return errno

cdef inline int _ceil_ms(double timeout) noexcept:
    """Seconds to epoll's whole milliseconds, rounding up so short waits do not spin."""
    cdef int ms = <int>(timeout * 1000.0)
    if ms < timeout * 1000.0:
        ms += 1
    return ms

cdef unsigned int _READ_EVENTS, _WRITE_EVENTS

cdef class Handle:
    cdef readonly object _context  # readonly: see Handle.__dealloc__
    cdef public object _loop
    cdef public object _callback
    cdef public object _args
    cdef public bint _cancelled
    cdef public object _repr
    cdef public object _source_traceback
    cdef unsigned char _untracked  # _UNTRACKED_*: queued out of the cyclic GC
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
cdef TimerHandle _new_timer(object when, object callback, tuple args, LoopCore loop, object context)

cdef object _deque_append, _deque_popleft

# Queued handles out of the cyclic GC (see _new_queued_handle in _scheduler_py).
cdef extern from "Python.h":
    void PyObject_GC_Track(object op)
    void PyObject_GC_UnTrack(object op)

cdef enum:
    _UNTRACKED_HANDLE = 1
    _UNTRACKED_HANDLE_AND_CONTEXT = 2

cdef Handle _new_queued_handle(object callback, tuple args, LoopCore loop, object context)
cdef void _retrack_handle(Handle handle) noexcept

cdef _heap_push(list heap, TimerHandle timer)
@cython.locals(last=TimerHandle, first=TimerHandle)
cdef TimerHandle _heap_pop(list heap)
@cython.locals(pos=Py_ssize_t)
cdef _heap_make(list heap)

# The timer heap's sifting, over the list's array of item pointers (see _scheduler_py).
# A sift only permutes pointers the list already owns, and runs no Python code (the
# comparisons read two C fields), so no reference count changes and nothing can observe
# the list half-way.  The items must be TimerHandles: only the loop pushes to the heap.
cdef extern from "Python.h":
    ctypedef struct PyListObject:
        PyObject **ob_item

cdef inline bint _timer_before(PyObject *a, PyObject *b) noexcept:
    """``a < b`` as TimerHandle.__lt__ orders them: (when, scheduling order); NaN never first."""
    cdef double when_a = (<TimerHandle>a)._when
    cdef double when_b = (<TimerHandle>b)._when
    return when_a < when_b or (when_a == when_b and (<TimerHandle>a)._seq < (<TimerHandle>b)._seq)

cdef inline void _sift_toward_root(list heap, Py_ssize_t top, Py_ssize_t pos) noexcept:
    """Move the timer at ``pos`` up, no higher than ``top``, while it is before its parent."""
    cdef PyObject **items = (<PyListObject *>heap).ob_item
    cdef PyObject *timer = items[pos]
    cdef Py_ssize_t parent_pos
    while pos > top:
        parent_pos = (pos - 1) >> 1
        if not _timer_before(timer, items[parent_pos]):
            break
        items[pos] = items[parent_pos]
        pos = parent_pos
    items[pos] = timer

cdef inline void _sift_toward_leaves(list heap, Py_ssize_t pos) noexcept:
    """Re-seat the timer at ``pos``: move the earlier child up until a leaf, then sift back.

    Walking the hole all the way down and then back up (heapq's method) compares less than
    stopping early: a timer taken from the end of the heap usually belongs near the leaves.
    """
    cdef PyObject **items = (<PyListObject *>heap).ob_item
    cdef Py_ssize_t end = len(heap)
    cdef Py_ssize_t top = pos
    cdef PyObject *timer = items[pos]
    cdef Py_ssize_t child_pos = 2 * pos + 1
    while child_pos < end:
        if child_pos + 1 < end and not _timer_before(items[child_pos], items[child_pos + 1]):
            child_pos += 1
        items[pos] = items[child_pos]
        pos = child_pos
        child_pos = 2 * pos + 1
    items[pos] = timer
    _sift_toward_root(heap, top, pos)

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
    cdef public int _epoll_fd
    cdef public object _hooks
    cdef public bint _watchdog_on
    cdef public unsigned long long _step_seq
    cdef epoll_event _events[_MAX_EVENTS]

    @cython.locals(ready=object, scheduled=list, count=Py_ssize_t, ntodo=Py_ssize_t,
                   timeout=double, end_time=double, timer=TimerHandle, handle=Handle)
    cpdef _run_once(self)
    cdef TimerHandle _schedule_timer(self, object when, object callback, tuple args, object context, str method)
    @cython.locals(handle=Handle)
    cdef _dispatch(self, int fd, unsigned int mask)
    @cython.locals(ms=int, n=int, i=int, epfd=int)
    cdef _poll_epoll(self, double timeout)
    cdef object __weakref__
    cdef dict __dict__
