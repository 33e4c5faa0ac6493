# Augmenting declarations for Cython pure-Python mode: the stream socket transport's fields.
cimport cython
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.bytearray cimport PyByteArray_AS_STRING
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE, PyBUF_WRITABLE
from cpython.exc cimport PyErr_SetFromErrno

cdef extern from "unistd.h" nogil:
    ssize_t _c_read "read" (int fd, void *buf, size_t n)
    ssize_t _c_write "write" (int fd, const void *buf, size_t n)

cdef extern from "sys/socket.h" nogil:
    ssize_t _c_send "send" (int fd, const void *buf, size_t n, int flags)
    ssize_t _c_recv "recv" (int fd, void *buf, size_t n, int flags)


cdef inline Py_ssize_t _fd_send(int fd, object data) except -1:
    """send(2) from any buffer; errors raise the OSError subclass Python's socket raises."""
    cdef Py_buffer view
    cdef ssize_t sent
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    sent = _c_send(fd, view.buf, <size_t>view.len, 0)
    PyBuffer_Release(&view)
    if sent < 0:
        PyErr_SetFromErrno(OSError)
        return -1
    return sent


cdef inline Py_ssize_t _fd_recv_into(int fd, object buf) except -1:
    """recv(2) into a writable buffer; errors raise the OSError subclass Python's socket raises."""
    cdef Py_buffer view
    cdef ssize_t received
    PyObject_GetBuffer(buf, &view, PyBUF_WRITABLE)
    received = _c_recv(fd, view.buf, <size_t>view.len, 0)
    PyBuffer_Release(&view)
    if received < 0:
        PyErr_SetFromErrno(OSError)
        return -1
    return received

cdef inline Py_ssize_t _fd_write(int fd, object data) except -1:
    """write(2) from any buffer (pipes); errors raise the OSError subclass os.write raises."""
    cdef Py_buffer view
    cdef ssize_t sent
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    sent = _c_write(fd, view.buf, <size_t>view.len)
    PyBuffer_Release(&view)
    if sent < 0:
        PyErr_SetFromErrno(OSError)
        return -1
    return sent


cdef inline Py_ssize_t _fd_read_into(int fd, object buf) except -1:
    """read(2) into a writable buffer (pipes); errors raise what os.readv raises."""
    cdef Py_buffer view
    cdef ssize_t received
    PyObject_GetBuffer(buf, &view, PyBUF_WRITABLE)
    received = _c_read(fd, view.buf, <size_t>view.len)
    PyBuffer_Release(&view)
    if received < 0:
        PyErr_SetFromErrno(OSError)
        return -1
    return received

cdef object _AsyncioTransport, _AsyncioReadTransport, _BufferedProtocol, _TransportSocket
cdef Py_ssize_t _IOV_MAX
cdef bint _HAS_SENDMSG

cdef class SocketTransport:
    cdef public object _loop
    cdef public object _sock
    cdef public int _fileno
    cdef public dict _extra
    cdef public bint _has_socket_names
    cdef public object _sockname
    cdef public object _peername
    cdef object _socket_wrapper
    cdef public object _protocol
    cdef public bint _protocol_connected
    cdef public bint _buffered
    cdef public object _server
    cdef public object _queue
    cdef public Py_ssize_t _queued
    cdef public Py_ssize_t _conn_lost
    cdef public bint _closing
    cdef public bint _paused
    cdef public bint _eof
    cdef public bint _writer_registered
    cdef public bint _protocol_paused
    cdef public Py_ssize_t _high_water
    cdef public Py_ssize_t _low_water
    cdef public object _empty_waiter
    cdef public bytearray _read_buffer
    cdef public object _read_view
    cdef object __weakref__
    cdef dict __dict__

    cpdef _read_ready(self)
    cdef _read_into_protocol(self)
    cdef _on_eof(self)
    cpdef write(self, data)
    cdef _write_data(self, data)
    cdef _count_lost_write(self)
    cdef _enqueue(self, data, Py_ssize_t start)
    cdef _start_writing(self)
    cdef _stop_writing(self)
    cpdef _write_ready(self)
    cdef _flush(self)
    cdef _consume(self, Py_ssize_t sent)
    cdef _drop_queue(self)
    cdef _maybe_pause_protocol(self)
    cdef _maybe_resume_protocol(self)
    cdef _recv_into(self, buf)
    cdef _send(self, data)
    cdef _sendmsg(self, chunks)
    cdef _shutdown_write(self)


cdef class PipeTransport(SocketTransport):
    cdef _recv_into(self, buf)
    cdef _send(self, data)
    cdef _sendmsg(self, chunks)
    cdef _shutdown_write(self)


cdef class ReadPipeTransport(PipeTransport):
    cdef _on_eof(self)


cdef class WritePipeTransport(PipeTransport):
    cpdef write(self, data)
    cdef _maybe_resume_protocol(self)
