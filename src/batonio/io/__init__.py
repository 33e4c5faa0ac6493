"""I/O on batonio's loop: signals now; transports, servers, streams, TLS and subprocesses next.

Each module adds one concern to the loop as a mixin that ``batonio._loop.EventLoop``
combines with the engine; the engine never imports this package.
"""
