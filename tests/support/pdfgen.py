"""Hand-built PDFs for tests of broken and odd documents (what no PDF writer would make)."""

from __future__ import annotations


def minimal_pdf(objs: list[bytes]) -> bytes:
    """A PDF of ``objs`` (object 1 is the /Root) with a correct xref table."""
    out, offs = b"%PDF-1.4\n", []
    for i, o in enumerate(objs):
        offs.append(len(out))
        out += f"{i + 1} 0 obj\n".encode() + o + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offs)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out
