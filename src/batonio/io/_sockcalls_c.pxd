# Augmenting declarations for Cython pure-Python mode: the sock_* calls and their waiter.
cimport cython
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE, PyBUF_WRITABLE
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING
from cpython.exc cimport PyErr_CheckSignals, PyErr_SetFromErrno
from libc cimport errno as _errno_mod

cdef extern from "sys/socket.h" nogil:
    ssize_t _c_send "send" (int fd, const void *buf, size_t n, int flags)
    ssize_t _c_recv "recv" (int fd, void *buf, size_t n, int flags)


cdef inline Py_ssize_t _would_block_or_raise() except -2:
    """After a failed recv(2)/send(2): -1 when the call should wait for readiness, else raise.

    EAGAIN, and EINTR once the signal handlers have run (Python's socket methods
    retry EINTR; the loop retries when the socket is ready); any other errno raises the
    OSError subclass Python's socket methods raise for it.
    """
    cdef int err = _errno_mod.errno
    if err == _errno_mod.EAGAIN:  # EWOULDBLOCK is the same number on Linux and the BSDs
        return -1
    if err == _errno_mod.EINTR:
        if PyErr_CheckSignals() < 0:
            return -2
        return -1
    _errno_mod.errno = err
    PyErr_SetFromErrno(OSError)
    return -2


cdef inline Py_ssize_t _try_recv_into(int fd, object buf) except -2:
    """``sock.recv_into(buf)`` as one recv(2): the byte count, or -1 when it would block."""
    cdef Py_buffer view
    cdef ssize_t received
    cdef int err
    PyObject_GetBuffer(buf, &view, PyBUF_WRITABLE)
    received = _c_recv(fd, view.buf, <size_t>view.len, 0)
    err = _errno_mod.errno
    PyBuffer_Release(&view)
    if received < 0:
        _errno_mod.errno = err
        return _would_block_or_raise()
    return received


cdef inline object _try_recv(int fd, Py_ssize_t n):
    """``sock.recv(n)`` as one recv(2): the bytes, or None when it would block."""
    cdef ssize_t received
    if n < 0:
        raise ValueError("negative buffersize in recv")
    data = PyBytes_FromStringAndSize(NULL, n)
    received = _c_recv(fd, PyBytes_AS_STRING(data), <size_t>n, 0)
    if received < 0:
        if _would_block_or_raise() == -1:
            return None
    if received == n:
        return data
    return PyBytes_FromStringAndSize(PyBytes_AS_STRING(data), received)


cdef inline Py_ssize_t _try_send(int fd, object data) except -2:
    """``sock.send(data)`` as one send(2): the byte count, or -1 when it would block."""
    cdef Py_buffer view
    cdef ssize_t sent
    cdef int err
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    sent = _c_send(fd, view.buf, <size_t>view.len, 0)
    err = _errno_mod.errno
    PyBuffer_Release(&view)
    if sent < 0:
        _errno_mod.errno = err
        return _would_block_or_raise()
    return sent


cdef bint _HAS_IPV6
cdef int _AF_INET, _AF_INET6, _SOL_SOCKET, _SO_ERROR
cdef Py_ssize_t _RECV, _RECV_INTO, _RECVFROM, _RECVFROM_INTO, _ACCEPT, _SENDTO, _SEND_REST, _CONNECT
cdef object _AGAIN, _Socket

cdef _check_socket(object sock)
cdef Py_ssize_t _byte_length(object data) except -1


@cython.final
cdef class _Waiter:
    cdef object loop
    cdef object fut
    cdef object sock
    cdef object handle
    cdef object arg
    cdef object arg2
    cdef int fd
    cdef Py_ssize_t op
    cdef Py_ssize_t sent

    cdef object _attempt(self)
    cdef release(self)
    cdef _unregister(self)


cdef _Waiter _wait(object loop, object sock, Py_ssize_t op, object arg, object arg2)
