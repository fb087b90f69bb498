"""What went wrong with a golden, in words a user can act on.

* :mod:`.messages`: every diagnosis text and fix line, and the moved-class search;
* :mod:`.values`: how a value is shown, and how an instance's attributes are read;
* :mod:`.picklability`: *which part* of an object graph cannot be pickled;
* :mod:`.releases`: what is said about an old release's data (frozen generations).

It imports only the shared models and :mod:`..reference`; the check engine calls it.
"""
