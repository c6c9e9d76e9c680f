"""The one upload pipeline for the whole portal (checks only: no database, no storage).

    with inspect_upload(form.file.data) as upload:   # may raise UploadRejected
        ... upload.path, upload.size, upload.sha256, upload.content_type ...

1. stream the upload to a temporary file in chunks, counting bytes and hashing SHA-256,
   and stop as soon as it passes the per-file limit (UPLOAD_MAX_BYTES);
2. sniff the type from the file's bytes (never the browser's claim): PDF, DOCX, XLSX,
   ODT, ODS, or UTF-8 text (.txt / .csv); refuse everything else, a name whose extension
   does not match, Office files with macros, and files carrying an executable;
3. when CLAMD_ADDRESS is set, scan through clamd's INSTREAM command.

Storing the file and writing the Document row is `portal.services.documents.store_upload`.
A whole request over MAX_CONTENT_LENGTH never gets here: Werkzeug answers 413 first.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import mmap
import os
import re
import socket
import struct
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import filetype
from flask import current_app, has_app_context
from werkzeug.datastructures import FileStorage

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
DEFAULT_MAX_BYTES = 25 * 1024 * 1024

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
TEXT = "text/plain"
CSV = "text/csv"

# extension -> the sniffed type it must have
EXTENSIONS = {
    "pdf": PDF,
    "docx": DOCX,
    "xlsx": XLSX,
    "odt": ODT,
    "ods": ODS,
    "txt": TEXT,
    "csv": CSV,
}
ALLOWED_LIST = "PDF, DOCX, XLSX, ODT, ODS, TXT or CSV"

# The OOXML main parts, by content type in [Content_Types].xml
_OOXML_MAIN = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX,
}
_ZIP_KINDS = {"zip", "docx", "xlsx", "pptx", "odt", "ods", "odp", "epub", "jar", "apk"}
_ZIP_MEMBER_READ_LIMIT = 1024 * 1024  # never inflate more than this from one member


class UploadRejected(Exception):
    """The upload was refused. `message` is written for the person who sent the file
    (GOV.UK error message style); `status` is the HTTP status a page should answer with."""

    def __init__(self, reason: str, message: str, status: int = 400, **details):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.status = status
        self.details = details


class ScanUnavailable(Exception):
    """clamd could not be reached or answered nonsense."""


@dataclass
class InspectedUpload:
    """A checked upload in a temporary file, removed by close() / the `with` block."""

    path: Path
    original_name: str
    extension: str
    content_type: str
    size: int
    sha256: str
    scan_result: str = "not_scanned"
    scan_signature: str | None = None
    _closed: bool = field(default=False, repr=False)

    def open(self) -> BinaryIO:
        return self.path.open("rb")

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> InspectedUpload:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _setting(name: str, default):
    if has_app_context():
        return current_app.config.get(name, default)
    return default


def file_size(n: int) -> str:
    """25 MB, 1.5 MB, 10 KB: the limit as people read it."""
    if n >= 1024 * 1024:
        return f"{round(n / (1024 * 1024), 1):g} MB"
    return f"{max(1, round(n / 1024)):g} KB"


def clean_filename(filename: str | None) -> str:
    """The name to keep in the database: no path, no control characters, at most 255."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = f"{stem[: 254 - len(ext)]}.{ext}" if dot and len(ext) <= 10 else name[:255]
    return name


# ---------------------------------------------------------------------------------------
# 1. Receive


def receive(file: FileStorage, max_bytes: int, temp_dir: str | None = None):
    """Copy the upload to a temporary file; return (path, size, sha256 hex)."""
    digest = hashlib.sha256()
    size = 0
    fd, name = tempfile.mkstemp(prefix="portal-upload-", dir=temp_dir)
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = file.stream.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise UploadRejected(
                        "too_large",
                        f"The selected file must be smaller than {file_size(max_bytes)}",
                        status=413,
                    )
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, size, digest.hexdigest()


# ---------------------------------------------------------------------------------------
# 2. Sniff

_PE_SIGNATURE = b"PE\x00\x00"
_ELF = re.compile(rb"\x7fELF[\x01\x02][\x01\x02]\x01")
_MACHO = re.compile(rb"(?:\xcf\xfa\xed\xfe|\xce\xfa\xed\xfe)[\x07\x0c\x12]\x00\x00[\x01\x00]")


def find_executable(data) -> str | None:
    """Name an executable format embedded anywhere in `data` (bytes or mmap), else None.

    Checks structure, not just two letters, so random bytes in a compressed stream do
    not trip it: a DOS "MZ" stub whose e_lfanew points at "PE\\0\\0" (Windows), an ELF
    ident with valid class/data/version bytes (Linux), a Mach-O header (macOS)."""
    length = len(data)
    start = data.find(b"MZ")
    while start != -1:
        if start + 0x40 <= length:
            (e_lfanew,) = struct.unpack_from("<I", data, start + 0x3C)
            pe = start + e_lfanew
            plausible = 4 <= e_lfanew < 0x10000 and pe + 4 <= length
            if plausible and data[pe : pe + 4] == _PE_SIGNATURE:
                return "Windows executable"
        start = data.find(b"MZ", start + 1)
    if _ELF.search(data):
        return "Linux executable"
    if _MACHO.search(data):
        return "macOS executable"
    return None


def _is_utf8_text(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            if b"\x00" in chunk:
                return False
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _read_member(zf: zipfile.ZipFile, name: str) -> bytes:
    with zf.open(name) as member:
        return member.read(_ZIP_MEMBER_READ_LIMIT)


def _macro_rejection() -> UploadRejected:
    return UploadRejected(
        "macros",
        "The selected file contains macros. Save it without macros (for example as .docx "
        "or .xlsx) and upload it again",
    )


def sniff_container(path: Path) -> str | None:
    """The type of an Office zip container (DOCX, XLSX, ODT, ODS), or None.
    Raises UploadRejected for macro-enabled documents."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return None
    with zf:
        try:
            names = zf.namelist()
            lower = [n.lower() for n in names]
            if any(n.rsplit("/", 1)[-1] == "vbaproject.bin" for n in lower):
                raise _macro_rejection()
            if "[content_types].xml" in lower:
                real = names[lower.index("[content_types].xml")]
                types = _read_member(zf, real).decode("utf-8", "replace")
                if "macroenabled" in types.lower() or "vbaproject" in types.lower():
                    raise _macro_rejection()
                found = {t for ct, t in _OOXML_MAIN.items() if ct in types}
                return found.pop() if len(found) == 1 else None
            if "mimetype" in names:
                mime = _read_member(zf, "mimetype").decode("ascii", "replace").strip()
                if mime in (ODT, ODS):
                    # OpenDocument keeps Basic macros and scripts in these folders.
                    if any(n.startswith(("basic/", "scripts/")) for n in lower):
                        raise _macro_rejection()
                    return mime
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, KeyError):
            return None  # encrypted, damaged or exotic: not something we accept
    return None


def sniff(path: Path) -> str | None:
    """The sniffed content type of the whole file (one of EXTENSIONS' values), or None.
    Raises UploadRejected for executables hidden in an allowed format and for macros."""
    kind = filetype.guess(str(path))
    size = path.stat().st_size
    if size == 0:
        return None
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        executable = find_executable(data)
        head = data[:1024]
    if executable:
        raise UploadRejected(
            "executable",
            f"The selected file contains a program ({executable}) and cannot be uploaded",
            found=executable,
        )
    if kind is None:
        # No magic number: PDF allows its header anywhere in the first 1024 bytes, which
        # makes polyglots easy; we only take a PDF that starts with its header.
        if b"%PDF-" in head:
            return None
        return TEXT if _is_utf8_text(path) else None
    if kind.mime == PDF:
        return PDF if head.startswith(b"%PDF-") else None
    if kind.extension in _ZIP_KINDS:
        return sniff_container(path)
    return None


# ---------------------------------------------------------------------------------------
# 3. Scan (clamd INSTREAM)


def parse_clamd_address(address: str) -> tuple[str, int]:
    host, sep, port = address.strip().rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ScanUnavailable(f"CLAMD_ADDRESS must be host:port, not {address!r}")
    return host.strip("[]"), int(port)


def clamd_instream(path: Path, address: str, timeout: float = 30) -> str | None:
    """Send the file to clamd with INSTREAM; return the signature name if infected,
    None if clean. Raises ScanUnavailable when clamd cannot give an answer."""
    host, port = parse_clamd_address(address)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"zINSTREAM\0")
            with path.open("rb") as f:
                while chunk := f.read(64 * 1024):
                    sock.sendall(struct.pack("!L", len(chunk)) + chunk)
            sock.sendall(struct.pack("!L", 0))
            reply = b""
            while not reply.endswith(b"\0"):
                part = sock.recv(4096)
                if not part:
                    break
                reply += part
    except OSError as exc:
        raise ScanUnavailable(f"clamd at {address} unreachable: {exc}") from exc
    answer = reply.rstrip(b"\0").decode("utf-8", "replace").strip()
    # "stream: OK" | "stream: <signature> FOUND" | "<message> ERROR"
    if answer.endswith(" FOUND"):
        return answer.removeprefix("stream:").removesuffix(" FOUND").strip() or "unknown"
    if answer.endswith("OK"):
        return None
    raise ScanUnavailable(f"clamd at {address} answered {answer!r}")


# ---------------------------------------------------------------------------------------
# The pipeline


def inspect_upload(
    file: FileStorage | None,
    *,
    max_bytes: int | None = None,
    clamd_address: str | None = None,
    temp_dir: str | None = None,
) -> InspectedUpload:
    """Run every check; return an InspectedUpload (a temporary file: close it) or raise
    UploadRejected. Limits and the scanner default to the app's configuration."""
    if max_bytes is None:
        max_bytes = int(_setting("UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES))
    if clamd_address is None:
        clamd_address = _setting("CLAMD_ADDRESS", None)
    if temp_dir is None:
        temp_dir = _setting("UPLOAD_TEMP_DIR", None)

    if file is None or not file.filename:
        raise UploadRejected("missing", "Select a file")
    name = clean_filename(file.filename)
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    if extension not in EXTENSIONS:
        raise UploadRejected("type", f"The selected file must be a {ALLOWED_LIST}")

    path, size, sha256 = receive(file, max_bytes, temp_dir)
    upload = InspectedUpload(path, name, extension, "", size, sha256)
    try:
        if size == 0:
            raise UploadRejected("empty", "The selected file is empty")
        sniffed = sniff(path)
        if sniffed is None:
            raise UploadRejected("type", f"The selected file must be a {ALLOWED_LIST}")
        expected = EXTENSIONS[extension]
        if sniffed == TEXT and expected in (TEXT, CSV):
            sniffed = expected
        if sniffed != expected:
            raise UploadRejected(
                "extension",
                f"The selected file is not a real .{extension} file. Check the file and "
                "upload it again",
                sniffed=sniffed,
            )
        upload.content_type = sniffed
        if clamd_address:
            try:
                signature = clamd_instream(path, clamd_address, _setting("CLAMD_TIMEOUT", 30))
            except ScanUnavailable as exc:
                log.error("Virus scan unavailable: %s", exc)
                raise UploadRejected(
                    "scan_unavailable",
                    "The selected file could not be checked for viruses. Try again later",
                    status=503,
                ) from exc
            if signature:
                raise UploadRejected(
                    "infected",
                    "The selected file contains a virus and cannot be uploaded",
                    signature=signature,
                    original_name=name,
                    size=size,
                    sha256=sha256,
                )
            upload.scan_result = "clean"
    except BaseException:
        upload.close()
        raise
    return upload
