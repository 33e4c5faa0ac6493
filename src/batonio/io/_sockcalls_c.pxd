# Augmenting declarations for Cython pure-Python mode: the sock_* calls and their waiter.
cimport cython

cdef bint _HAS_IPV6
cdef int _AF_INET, _AF_INET6, _SOL_SOCKET, _SO_ERROR
cdef Py_ssize_t _RECV, _RECV_INTO, _RECVFROM, _RECVFROM_INTO, _ACCEPT, _SENDTO, _SEND_REST, _CONNECT
cdef object _AGAIN

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
