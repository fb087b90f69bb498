"""Errors raised by the reference serializer on bad input."""

import pickle


class MalformedPickle(pickle.UnpicklingError):
    """A pickle stream that is truncated, corrupt or exceeds a limit.

    ``offset`` is the byte position of the opcode being read when the problem
    was found (``None`` when it is not tied to one position).
    """

    def __init__(self, message, offset=None):
        self.message = message
        self.offset = offset
        if offset is not None:
            message = "%s (at byte %d)" % (message, offset)
        super().__init__(message)

    def __reduce__(self):
        # keep the offset when the error crosses a process boundary (xdist, spawn)
        return (type(self), (self.message, self.offset))
