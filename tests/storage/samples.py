"""Small sample files built in memory: real formats, disguised programs, macro documents."""

from __future__ import annotations

import io
import struct
import zipfile

from werkzeug.datastructures import FileStorage

PDF_BYTES = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    b"1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
    b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n"
    b"trailer <</Root 1 0 R>>\n%%EOF\n"
)

# The EICAR test string: every virus scanner reports it, and it harms nothing.
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def upload(data: bytes, filename: str, mimetype: str = "application/octet-stream"):
    """A werkzeug FileStorage as a form post would give it (the browser's type is ignored)."""
    return FileStorage(stream=io.BytesIO(data), filename=filename, content_type=mimetype)


def pe_executable() -> bytes:
    """A minimal Windows PE: DOS header ("MZ", e_lfanew at 0x3C) then "PE\\0\\0"."""
    dos = bytearray(b"MZ" + b"\x90" * 0x3A)
    dos += struct.pack("<I", 0x80)
    dos += b"\x00" * (0x80 - len(dos))
    return bytes(dos) + b"PE\x00\x00" + b"\x4c\x01\x03\x00" + b"\x00" * 200


def elf_executable() -> bytes:
    return b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + b"\x02\x00\x3e\x00" + b"\x00" * 200


def pdf_with_embedded_pe() -> bytes:
    """A PDF header, then a PE inside a stream: both filetype and libmagic call it a PDF."""
    return (
        b"%PDF-1.7\n1 0 obj <</Length 400>> stream\n"
        + pe_executable()
        + b"\nendstream endobj\ntrailer <<>>\n%%EOF\n"
    )


def _zip(entries: list[tuple[str, bytes]], stored_first: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, (name, data) in enumerate(entries):
            kind = zipfile.ZIP_STORED if stored_first and i == 0 else zipfile.ZIP_DEFLATED
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=kind)
    return buffer.getvalue()


_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxml'
    b'formats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas'
    b'.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    b'Target="word/document.xml"/></Relationships>'
)


def docx(macros: bool = False, macro_content_type: bool = False) -> bytes:
    main = (
        "application/vnd.ms-word.document.macroEnabled.main+xml"
        if macro_content_type
        else "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    )
    content_types = (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org'
        '/package/2006/content-types"><Default Extension="rels" ContentType="application/'
        'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
        '"application/xml"/><Override PartName="/word/document.xml" ContentType="'
        f'{main}"/></Types>'
    ).encode()
    document = (
        b'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxml'
        b'formats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Methodology</w:t>'
        b"</w:r></w:p></w:body></w:document>"
    )
    entries = [
        ("[Content_Types].xml", content_types),
        ("_rels/.rels", _RELS),
        ("word/document.xml", document),
    ]
    if macros:
        entries.append(("word/vbaProject.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64))
    return _zip(entries)


def xlsx() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["Item", "Cost"])
    workbook.active.append(["Fieldwork", 12000])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def opendocument(kind: str = "text", macros: bool = False) -> bytes:
    mime = f"application/vnd.oasis.opendocument.{kind}".encode()
    entries = [
        ("mimetype", mime),
        ("content.xml", b'<?xml version="1.0"?><office:document-content/>'),
        ("META-INF/manifest.xml", b'<?xml version="1.0"?><manifest:manifest/>'),
    ]
    if macros:
        entries.append(("Basic/Standard/Module1.xml", b"<script:module/>"))
    return _zip(entries, stored_first=True)
