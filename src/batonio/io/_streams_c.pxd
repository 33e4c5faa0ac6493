# Augmenting declarations for the compiled build of _streams_py.py (Cython pure-Python mode).
# StreamReader is an extension type: its buffer is a typed bytearray and its per-read helpers
# are C methods.  FlowControlMixin, StreamReaderProtocol and StreamWriter stay ordinary
# Python classes (an asyncio.Protocol subclass cannot be an extension type); Cython compiles
# their method bodies.
cimport cython
from cpython.bytearray cimport PyByteArray_AS_STRING
from cpython.bytes cimport PyBytes_FromStringAndSize

cdef class StreamReader:
    cdef public Py_ssize_t _limit
    cdef public object _loop
    cdef public bytearray _buffer
    cdef public bint _eof
    cdef public object _waiter
    cdef public object _exception
    cdef public object _transport
    cdef public bint _paused
    cdef public object _source_traceback
    cdef object __weakref__

    cpdef _wakeup_waiter(self)
    cpdef _maybe_resume_transport(self)
    cdef _pause_transport(self)
    cdef bytes _take(self, Py_ssize_t n)
    cdef bytes _take_slice(self, object n)
    cdef object _incomplete(self, object expected)
    cdef object _line_now(self)
