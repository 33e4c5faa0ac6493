"""What ``asyncio`` exports, as batonio's own implementation.

Every module here is written only against the public methods of
``asyncio.AbstractEventLoop`` and the future protocol, so it also runs on a stock asyncio
loop and on uvloop.  ``batonio/__init__.py`` re-exports the public names.
"""
