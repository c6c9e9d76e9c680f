"""The upload checks: size, sniffed type, lying names, macros, hidden programs, clamd."""

from __future__ import annotations

import hashlib
import socket
import struct
import threading

import pytest

from portal.uploads import (
    CSV,
    DOCX,
    ODS,
    ODT,
    PDF,
    TEXT,
    XLSX,
    UploadRejected,
    clamd_instream,
    clean_filename,
    inspect_upload,
)
from tests.storage import samples
from tests.storage.samples import upload


def rejected(data: bytes, filename: str, **kwargs) -> UploadRejected:
    with pytest.raises(UploadRejected) as info:
        inspect_upload(upload(data, filename), **kwargs)
    return info.value


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (samples.PDF_BYTES, "Report.PDF", PDF),
        (samples.docx(), "methodology.docx", DOCX),
        (samples.xlsx(), "prices.xlsx", XLSX),
        (samples.opendocument("text"), "plan.odt", ODT),
        (samples.opendocument("spreadsheet"), "budget.ods", ODS),
        ("Notes about the café\n".encode(), "notes.txt", TEXT),
        (b"name,score\r\nAda,3\r\n", "scores.csv", CSV),
        ("\ufeffname,score\nZoë,4\n".encode(), "bom.csv", CSV),
    ],
)
def test_allowed_types_are_accepted(app, data, filename, expected):
    with inspect_upload(upload(data, filename, "application/x-anything")) as result:
        assert result.content_type == expected
        assert result.size == len(data)
        assert result.sha256 == hashlib.sha256(data).hexdigest()
        assert result.path.read_bytes() == data
        assert result.scan_result == "not_scanned"
        path = result.path
    assert not path.exists(), "the temporary file is removed when the block ends"


def test_over_the_per_file_limit_is_refused_with_413(app):
    app.config["UPLOAD_MAX_BYTES"] = 1000
    error = rejected(b"a" * 1001, "big.txt")
    assert error.reason == "too_large"
    assert error.status == 413
    assert error.message == "The selected file must be smaller than 1 KB"
    from portal.uploads import file_size

    assert file_size(25 * 1024 * 1024) == "25 MB"
    assert file_size(1536 * 1024) == "1.5 MB"
    with inspect_upload(upload(b"a" * 1000, "exact.txt")) as ok:
        assert ok.size == 1000


def test_oversize_stops_reading_early(app, tmp_path):
    class Endless:
        read_bytes = 0

        def read(self, n=-1):
            Endless.read_bytes += n
            return b"x" * n

    from werkzeug.datastructures import FileStorage

    spool = tmp_path / "spool"
    spool.mkdir()
    with pytest.raises(UploadRejected):
        inspect_upload(
            FileStorage(stream=Endless(), filename="x.txt"),
            max_bytes=3 * 1024 * 1024,
            temp_dir=str(spool),
        )
    assert Endless.read_bytes <= 5 * 1024 * 1024
    assert list(spool.iterdir()) == [], "no temporary file is left behind"


@pytest.mark.parametrize(
    ("data", "filename", "reason"),
    [
        (samples.pe_executable(), "invoice.pdf", "executable"),
        (samples.elf_executable(), "report.pdf", "executable"),
        (samples.pe_executable(), "setup.exe", "type"),
        (samples.pdf_with_embedded_pe(), "innocent.pdf", "executable"),
        (b"MZ" + b"\0" * 100 + samples.PDF_BYTES, "polyglot.pdf", "type"),
        (b"<html>" + b" " * 10 + samples.PDF_BYTES, "offset-header.pdf", "type"),
        (samples.docx(macros=True), "methodology.docx", "macros"),
        (samples.docx(macro_content_type=True), "methodology.docx", "macros"),
        (samples.opendocument("text", macros=True), "plan.odt", "macros"),
        (samples.PDF_BYTES, "report.docx", "extension"),
        (samples.docx(), "methodology.xlsx", "extension"),
        (b"just some text", "report.pdf", "extension"),
        (samples.PDF_BYTES, "report", "type"),
        (samples.PDF_BYTES, "report.exe", "type"),
        (b"plain\x00text", "notes.txt", "type"),
        ("caf\xe9".encode("latin-1"), "notes.txt", "type"),
        (b"PK\x03\x04not really a zip", "broken.docx", "type"),
        (b"", "empty.txt", "empty"),
    ],
)
def test_refused(app, data, filename, reason):
    error = rejected(data, filename)
    assert error.reason == reason
    assert error.status == 400
    assert error.message[0].isupper() and not error.message.endswith(".")


def test_a_plain_zip_is_refused(app):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("notes.txt", b"hello " * 100)
    assert rejected(buffer.getvalue(), "archive.docx").reason == "type"
    # a program stored uncompressed in a zip is still seen
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("payload.exe", samples.pe_executable())
    assert rejected(buffer.getvalue(), "archive.docx").reason == "executable"


def test_no_file_selected(app):
    from werkzeug.datastructures import FileStorage

    assert rejected(b"", "").reason == "missing"
    with pytest.raises(UploadRejected, match="Select a file"):
        inspect_upload(None)
    with pytest.raises(UploadRejected, match="Select a file"):
        inspect_upload(FileStorage(filename=""))


def test_random_bytes_do_not_look_like_programs():
    import random

    from portal.uploads import find_executable

    noise = random.Random(7).randbytes(8 * 1024 * 1024)
    assert find_executable(noise) is None


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("C:\\Users\\ada\\Desktop\\report.pdf", "report.pdf"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("bad\r\nname\x00.pdf", "badname.pdf"),
        ("x" * 300 + ".docx", "x" * 250 + ".docx"),
    ],
)
def test_clean_filename(given, kept):
    assert clean_filename(given) == kept


# --- clamd ---------------------------------------------------------------------------


class FakeClamd:
    """Speaks enough of clamd's INSTREAM protocol: reports EICAR as infected."""

    def __init__(self, reply: bytes | None = None):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.server.getsockname()[1]}"
        self.received: list[bytes] = []
        self.commands: list[bytes] = []
        self.reply = reply
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                reader = conn.makefile("rb")
                command = b""
                while not command.endswith(b"\0"):
                    command += reader.read(1)
                self.commands.append(command)
                data = b""
                while True:
                    (length,) = struct.unpack("!L", reader.read(4))
                    if length == 0:
                        break
                    data += reader.read(length)
                self.received.append(data)
                if self.reply is not None:
                    conn.sendall(self.reply)
                elif samples.EICAR in data:
                    conn.sendall(b"stream: Eicar-Test-Signature FOUND\0")
                else:
                    conn.sendall(b"stream: OK\0")

    def close(self):
        self.server.close()


@pytest.fixture
def fake_clamd():
    server = FakeClamd()
    yield server
    server.close()


def test_clamd_clean_file_is_marked_clean(app, fake_clamd):
    app.config["CLAMD_ADDRESS"] = fake_clamd.address
    data = b"a,b\n" * 50_000  # several INSTREAM chunks
    with inspect_upload(upload(data, "data.csv")) as result:
        assert result.scan_result == "clean"
    assert fake_clamd.commands == [b"zINSTREAM\0"]
    assert fake_clamd.received == [data]


def test_clamd_infected_file_is_refused(app, fake_clamd):
    app.config["CLAMD_ADDRESS"] = fake_clamd.address
    error = rejected(samples.EICAR, "eicar.txt")
    assert error.reason == "infected"
    assert error.details["signature"] == "Eicar-Test-Signature"
    assert "virus" in error.message


def test_clamd_unreachable_refuses_the_upload(app):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app.config["CLAMD_ADDRESS"] = f"127.0.0.1:{port}"
    error = rejected(b"hello", "hello.txt")
    assert (error.reason, error.status) == ("scan_unavailable", 503)


def test_clamd_error_answer_is_not_clean(tmp_path):
    server = FakeClamd(reply=b"INSTREAM size limit exceeded. ERROR\0")
    try:
        path = tmp_path / "f.txt"
        path.write_bytes(b"hello")
        from portal.uploads import ScanUnavailable

        with pytest.raises(ScanUnavailable, match="size limit"):
            clamd_instream(path, server.address)
    finally:
        server.close()
