"""Big str/bytes/bytearray values of a pickle, described instead of copied.

The verdict-only analysis (``analyze(tree=False)``, ``analyze_file``) never
looks inside a big data value: it needs its type and length (the work budget),
and the content only where a check reads it (a global's name, a codec name, a
number's text, a hash, a message).  A :class:`Blob` stands for such a value on
the symbolic stack: where it lies in the pickle's bytes (a ``bytes`` object or
a read-only map of the file), its type and its length.  :meth:`Blob.value`
rebuilds the real value, for the checks that read it, while the input is open.

A str blob is validated when made (UTF-8 with surrogates, as the loader
decodes it), chunk by chunk, so it is never held whole either.
"""

import codecs

MIN_SIZE = 1 << 12  # arguments of at least this many bytes become blobs
_CHUNK = 1 << 20  # bytes decoded at a time when a str blob is validated and measured


class Blob:
    """One big value: ``type`` (str, bytes or bytearray) and ``length`` (its ``len()``).

    Either raw bytes ``data[start:stop]`` (UTF-8 text for a str), or, with
    ``encoded``, the latin-1 encoding of another (str) blob: ``_codecs.encode(s,
    "latin1")`` and ``bytearray(s, "latin-1")``, how protocols 0-2 write bytes.
    """

    __slots__ = ("type", "data", "start", "stop", "length", "latin1", "encoded")

    def __init__(self, type_, data, start, stop, length, latin1=False, encoded=None):
        self.type = type_
        self.data = data
        self.start = start
        self.stop = stop
        self.length = length
        self.latin1 = latin1  # a str whose characters all encode to latin-1
        self.encoded = encoded

    def value(self):
        """The real value (a copy: only for the checks that read it)."""
        if self.encoded is not None:
            raw = self.encoded.value().encode("latin-1")
        else:
            raw = self.data[self.start:self.stop]
            if self.type is str:
                return raw.decode("utf-8", "surrogatepass")
        return bytearray(raw) if self.type is bytearray else bytes(raw)

    def as_type(self, type_):
        """The same content as another type: ``bytearray(<bytes>)``."""
        return Blob(type_, self.data, self.start, self.stop, self.length, self.latin1, self.encoded)

    def latin1_encoded(self, type_):
        """``<this str>.encode("latin-1")`` as ``type_`` (bytes or bytearray); only when ``latin1``."""
        return Blob(type_, None, 0, 0, self.length, encoded=self)

    def starts_ends_with(self, affix: str) -> bool:
        """``value.startswith(affix) and value.endswith(affix)`` for an ASCII ``affix`` of a str blob."""
        raw = affix.encode("ascii")
        return (self.data[self.start:self.start + len(raw)] == raw
                and self.data[self.stop - len(raw):self.stop] == raw)

    # Compared and hashed as the value (a tuple of atoms in a dict's keys is hashed and compared)
    def __eq__(self, other):
        return self.value() == (other.value() if type(other) is Blob else other)

    def __hash__(self):
        return hash(self.value())


def text(data, start: int, stop: int) -> Blob:
    """A str blob of the UTF-8 bytes ``data[start:stop]``.

    Raises UnicodeDecodeError with the reason ``bytes.decode`` gives.
    """
    decoder = codecs.getincrementaldecoder("utf-8")("surrogatepass")
    length = 0
    latin1 = True
    at = start
    while True:
        end = min(at + _CHUNK, stop)
        part = decoder.decode(data[at:end], end == stop)  # the analyzer reports ``exc.reason`` only
        length += len(part)
        if latin1 and not part.isascii() and max(part) > "\xff":
            latin1 = False
        if end == stop:
            return Blob(str, data, start, stop, length, latin1)
        at = end
