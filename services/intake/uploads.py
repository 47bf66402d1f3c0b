"""Receiving one evidence file: the request body streamed into GridFS, never
held whole (at most one batch of BATCH bytes, plus GridFS's own chunk).

The body is the file itself (its type in Content-Type, its name in
Content-Disposition), or multipart/form-data with a `file` part, parsed as
it arrives. Quota is taken before bytes are kept: the item's file slot
first, then the report's bytes batch by batch, each by a conditional
update, so racing uploads cannot both pass a limit. Any failure — a limit, a
refused type, a client that goes away, an error here — deletes the chunks
written so far, gives the quota back and drops the pending record: nothing
partial is left. A process that dies mid-upload leaves its pending record,
through which the sweep (files.py) does the same later.
"""
import hashlib
from dataclasses import dataclass
from typing import Any, Iterator

from werkzeug.exceptions import ClientDisconnected
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from services.intake import evidence
from shared.errors import BadRequest, TooLarge

READ = 64 * 1024            # read from the socket this much at a time
BATCH = 1024 * 1024         # quota is taken, and GridFS written, per this much
CHUNK = 255 * 1024          # GridFS's chunk size


class Gone(BadRequest):
    """The client stopped sending before the file ended."""


@dataclass
class Incoming:
    """What the request says of the file, and its bytes as they arrive."""
    declared: str | None
    filename: str | None
    chunks: Iterator[bytes]
    length: int | None      # the body's Content-Length, when sent


def incoming(request) -> Incoming:
    environ = request.environ
    if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        # eventlet ends a chunked body but does not say so (see shared/http.py).
        environ["wsgi.input_terminated"] = True
    stream = request.stream
    length = request.content_length
    mime, options = parse_options_header(request.headers.get("Content-Type", ""))
    if mime == "multipart/form-data":
        if not options.get("boundary"):
            raise BadRequest("a multipart body needs its boundary")
        return _multipart(stream, options["boundary"].encode("latin-1"), length)
    _, disposition = parse_options_header(request.headers.get("Content-Disposition", ""))
    return Incoming(request.headers.get("Content-Type"), disposition.get("filename"),
                    _read(stream), length)


def _read(stream) -> Iterator[bytes]:
    try:
        while True:
            piece = stream.read(READ)
            if not piece:
                return
            yield piece
    except (ClientDisconnected, ValueError, OSError):
        # werkzeug's ClientDisconnected: fewer bytes than Content-Length;
        # eventlet's ChunkReadError (a ValueError): a chunked body cut off.
        raise Gone("the upload ended before the file did")


def _multipart(stream, boundary, length) -> Incoming:
    """The `file` part of a multipart body, its data yielded as it is parsed
    (other parts are read past and dropped)."""
    found = Incoming(None, None, iter(()), length)

    def parts():
        decoder = MultipartDecoder(boundary, max_form_memory_size=None)
        state = "before"        # before, in (the file part), skip (another part), done
        for piece in _then_end(_read(stream)):
            decoder.receive_data(piece)
            event = decoder.next_event()
            while not isinstance(event, (NeedData, Epilogue)):
                if isinstance(event, File) and event.name == "file" and state == "before":
                    found.filename = event.filename
                    found.declared = event.headers.get("Content-Type")
                    state = "in"
                elif isinstance(event, (File, Field)):
                    state = "skip" if state != "done" else "done"
                elif isinstance(event, Data) and state == "in":
                    if event.data:
                        yield bytes(event.data)
                    if not event.more_data:
                        state = "done"
                event = decoder.next_event()
            if isinstance(event, Epilogue):
                break
        if state not in ("in", "done"):
            raise BadRequest("a multipart upload needs a part named file")

    found.chunks = parts()
    return found


@dataclass
class Stored:
    size: int
    sha256: str
    content_type: str
    filename: str


def store(repo: Any, limits: evidence.Limits, report_id: str, file_id: str,
          upload: Incoming) -> Stored:
    """Stream `upload` into GridFS under `file_id`, taking the report's bytes
    as they come (held under `file_id`). Raises, having deleted what it
    wrote, on any failure; the caller gives the quota back."""
    if upload.length is not None and upload.length > limits.file_bytes + 64 * 1024:
        # Refused before a byte is read (the body may carry a multipart
        # envelope, hence the margin; the count below is exact).
        raise too_large_file(limits)
    digest, size = hashlib.sha256(), 0
    head, batch = bytearray(), bytearray()
    content_type = None
    filename = evidence.display_name(upload.filename)
    target = None
    try:
        for piece in _then_end(upload.chunks):
            if piece is not None:
                size += len(piece)
                if size > limits.file_bytes:
                    raise too_large_file(limits)
                digest.update(piece)
                if content_type is None and len(head) < evidence.SNIFF_BYTES:
                    head += piece
                batch += piece
            if content_type is None and (len(head) >= evidence.SNIFF_BYTES or piece is None):
                filename = evidence.display_name(upload.filename)
                content_type = evidence.checked_type(bytes(head), upload.declared, filename)
                target = repo.file_writer(file_id, CHUNK, {"report_id": report_id})
            if target is not None and (len(batch) >= BATCH or (piece is None and batch)):
                if not repo.take_bytes(report_id, file_id, len(batch), limits.report_bytes):
                    raise TooLarge(f"a report may hold at most {limits.report_bytes} bytes "
                                   "of files", {"file": [f"at most {limits.report_bytes} bytes"
                                                         " for one report"]})
                target.write(bytes(batch))
                batch.clear()
        if size == 0 or target is None or content_type is None:
            raise BadRequest("the file is empty")
        target.close()
    except BaseException:
        if target is not None:
            target.abort()      # deletes the chunks it wrote
        raise   # the caller gives the quota back
    return Stored(size, digest.hexdigest(), content_type, filename)


def digest(limits: evidence.Limits, upload: Incoming) -> str:
    """The SHA-256 of a retried upload's bytes, keeping none of them (the
    retry of an upload already kept is compared with it, never stored)."""
    if upload.length is not None and upload.length > limits.file_bytes + 64 * 1024:
        raise too_large_file(limits)
    hashed, size = hashlib.sha256(), 0
    for piece in upload.chunks:
        size += len(piece)
        if size > limits.file_bytes:
            raise too_large_file(limits)
        hashed.update(piece)
    if size == 0:
        raise BadRequest("the file is empty")
    return hashed.hexdigest()


def _then_end(chunks):
    yield from chunks
    yield None


def too_large_file(limits):
    return TooLarge(f"a file may hold at most {limits.file_bytes} bytes",
                    {"file": [f"at most {limits.file_bytes} bytes"]})


def read_back(repo, file_id, start=0, end=None) -> Iterator[bytes]:
    """A stored file's bytes [start, end), a chunk at a time."""
    return repo.file_bytes(file_id, start, end)
