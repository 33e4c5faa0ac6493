# Augmenting declarations for the compiled build of _tls_py.py (Cython pure-Python mode).
# TLSLayer and TLSTransport are extension types; the pump (feeding the incoming BIO, the
# application-data loop, encrypting the backlog, draining the outgoing BIO, flow control)
# is C methods called without attribute look-ups.
cimport cython
from cpython.bytearray cimport PyByteArray_AS_STRING
from cpython.bytes cimport PyBytes_FromStringAndSize

cdef int _UNWRAPPED, _HANDSHAKE, _WRAPPED, _FLUSHING, _SHUTDOWN
cdef int _APP_NEW, _APP_CONNECTED, _APP_EOF, _APP_LOST
cdef Py_ssize_t _WRITE_HIGH_WATER, _READ_HIGH_WATER, _ENCRYPT_CHUNK
cdef Py_ssize_t _LOG_THRESHOLD_FOR_CONNLOST_WRITES
cdef object _SSL_AGAIN, _SSLError, _AsyncioTransport, _AsyncioBufferedProtocol


cdef class TLSLayer:
    cdef public object _loop
    cdef public object _waiter
    cdef public object _transport
    cdef public bint _server_side
    cdef public object _incoming
    cdef public object _outgoing
    cdef public object _sslobj
    cdef object _ssl_read
    cdef object _ssl_write
    cdef object _ssl_pending
    cdef public bint _close_notify_seen
    cdef public dict _extra
    cdef public int _state
    cdef public int _app_state
    cdef public object _app_protocol
    cdef public bint _app_buffered
    cdef public TLSTransport _app_transport
    cdef public object _backlog
    cdef public Py_ssize_t _backlog_size
    cdef public Py_ssize_t _conn_lost
    cdef public bint _eof_received
    cdef public bint _app_reading_paused
    cdef public bint _app_writing_paused
    cdef public bint _ssl_reading_paused
    cdef public bint _ssl_writing_paused
    cdef public bint _read_call_pending
    cdef public Py_ssize_t _write_high
    cdef public Py_ssize_t _write_low
    cdef public Py_ssize_t _read_high
    cdef public Py_ssize_t _read_low
    cdef public double _handshake_timeout
    cdef public double _shutdown_timeout
    cdef public object _handshake_timer
    cdef public object _shutdown_timer
    cdef public double _handshake_started
    cdef public bytearray _buffer
    cdef public object _view
    cdef object __weakref__

    cdef _set_app_protocol(self, protocol)
    cdef _get_extra_info(self, name, default=*)
    cdef _set_state(self, int state)
    cdef _wake_waiter(self, exc=*)
    cdef _cancel_timers(self)
    cdef _advance(self)
    cdef _do_handshake(self)
    cdef _on_handshake_complete(self, handshake_exc)
    cdef _start_shutdown(self)
    cdef _do_flush(self)
    cdef _do_shutdown(self)
    cdef _on_shutdown_complete(self, shutdown_exc)
    cdef _abort(self, exc)
    cdef _write_appdata(self, data)
    cdef _encrypt_backlog(self, bint everything)
    cdef _send_outgoing_only(self, bint everything)
    cdef _send_outgoing(self)
    cdef Py_ssize_t _write_buffer_size(self) except -1
    cdef _control_app_writing(self)
    cdef _call_flow_control(self, method)
    cdef _set_write_buffer_limits(self, high=*, low=*)
    cdef _apply_socket_write_limits(self)
    cdef _do_read(self)
    cdef _read_copied(self)
    cdef _read_buffered(self)
    cdef Py_ssize_t _decrypt_into(self, buf, Py_ssize_t wants) except -1
    cdef _schedule_read(self)
    cdef _on_close_notify(self)
    cdef _call_eof_received(self)
    cdef _pause_reading(self)
    cdef _resume_reading(self)
    cdef _control_ssl_reading(self)
    cdef _set_read_buffer_limits(self, high=*, low=*)
    cdef _fatal_error(self, exc, message=*)


cdef class TLSTransport:
    cdef public object _loop
    cdef public TLSLayer _layer
    cdef public bint _closed
    cdef object __weakref__
