"""Magic numbers of .pyc files: which CPython version wrote a file.

The first two bytes of a .pyc are a little-endian magic number followed by
b"\\r\\n".  Each CPython minor version owns a range (alphas and betas bump
the number inside it); the release value is what ``importlib.util.MAGIC_NUMBER``
reports on that version's final releases.  Source: the list in
``Lib/importlib/_bootstrap_external.py`` of each release.
"""

import collections

__all__ = ["MagicInfo", "RANGES", "RELEASE_MAGIC", "lookup", "magic_to_bytes"]

MagicInfo = collections.namedtuple("MagicInfo", "magic python_version release layout_supported")

# (first magic, last magic, (major, minor), release magic, first magic whose
# code-object layout equals the release layout)
RANGES = (
    (3400, 3419, (3, 8), 3413, 3410),  # 3410: positional-only arguments field
    (3420, 3429, (3, 9), 3425, 3420),
    (3430, 3449, (3, 10), 3439, 3438),  # 3438: final PEP 626 line table
    (3450, 3499, (3, 11), 3495, 3494),  # 3494: final location table
    (3500, 3549, (3, 12), 3531, 3500),
    (3550, 3599, (3, 13), 3571, 3550),
    (3600, 3649, (3, 14), 3627, 3608),  # 3608: constant slices (marshal v5)
)

RELEASE_MAGIC = {version: release for _lo, _hi, version, release, _ok in RANGES}


def lookup(magic):
    """MagicInfo for a magic number, or None when it is not a CPython 3.8+ one."""
    for lo, hi, version, release, first_ok in RANGES:
        if lo <= magic <= hi:
            return MagicInfo(magic, version, magic == release, magic >= first_ok)
    return None


def magic_to_bytes(magic):
    return magic.to_bytes(2, "little") + b"\r\n"
