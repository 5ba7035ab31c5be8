"""The hashes behind batch prediction ids, made on another core while the batch job works.

A batch id hashes (day, file name, row number): it depends on where a row is, not on what it
holds, so the ids of a file's next rows can be made before they are read. BLAKE2b runs in
Python's loop under the GIL (hashlib releases it only for long inputs), so threads cannot help;
this module runs as a small helper process instead (``python -m predmaint.inference.id_hashes``,
nothing imported but hashlib) that answers "digests of rows first..first+n" on its stdin/stdout
pipes. :class:`predmaint.inference.ids.BatchIds` asks for the next chunk's digests while the
current chunk is scored, and makes them itself if the helper cannot run.
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
from typing import BinaryIO

#: Bytes of each digest (the id shows them as 16 hex digits).
DIGEST_BYTES = 8


def digests(prefix: bytes, first: int, rows: int) -> bytes:
    """The 8-byte BLAKE2b digests of keys ``prefix + b"<row>"`` for rows ``first``.., joined."""
    blake2b = hashlib.blake2b
    return b"".join(
        [
            blake2b(prefix + b"%d" % row, digest_size=DIGEST_BYTES).digest()
            for row in range(first, first + rows)
        ]
    )


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """Answer requests until stdin closes: a first line with the key prefix in hex, then one
    ``first rows`` line per request, each answered with ``rows`` digests."""
    prefix = bytes.fromhex(requests.readline().decode().strip())
    for line in requests:
        first, rows = (int(v) for v in line.split())
        answers.write(digests(prefix, first, rows))
        answers.flush()


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError, KeyboardInterrupt):  # the batch job went away
        serve(sys.stdin.buffer, sys.stdout.buffer)
