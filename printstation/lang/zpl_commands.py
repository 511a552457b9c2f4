"""What each ZPL command does to the layout check's reading: the format state (prefixes,
``^BY``, ``^CF``, ``^FW``, ``^LH``/``^LS``/``^LT``, ``^PW``/``^LL``, ``^MU``, ``^PO``, ``^CI``)
and the field being read (origin, data, ``^FH``, ``^FB``/``^TB``, ``^FN``, font, symbol).

The walk itself (``^XA``, ``~DG``, ``^FS``, ``^DF``) is :meth:`LayoutCheck._layout`.
"""

from __future__ import annotations

from .zpl_geometry import BITMAP_FONTS, ORIENT, Field, State
from .zpl_tokens import num, param

#: Commands that start a graphic or a symbol (besides every ``^B…`` but ``^BY``).
_DRAWN = ("GB", "GC", "GD", "GE", "GF", "XG", "IM", "GS")


def set_state(name: str, arg: str, p: list[str], st: State) -> bool:
    """Apply a command that changes the format state; False when ``name`` is not one."""
    if name in ("CC", "CT", "CD"):
        _set_prefix(name, arg, st)
    elif name == "CF":
        fnt = (arg[:1] or "A").upper()
        h = num(param(p, 1), st.cf[1])
        st.cf = (fnt, h, num(param(p, 2), h if fnt == "0" else st.cf[2]))
    elif name == "BY":
        st.by = (num(param(p, 0), st.by[0], 1, 100), num(param(p, 1), st.by[1], 2, 3),
                 num(param(p, 2), st.by[2], 1))
    elif name == "FW":
        o = (arg[:1] or "N").upper()
        st.fw = o if o and o in ORIENT else st.fw
    elif name == "LH":
        st.lh = (num(param(p, 0), 0), num(param(p, 1), 0))
    elif name == "LS":
        st.ls = num(param(p, 0), 0, -9999, 9999)
    elif name == "LT":
        st.lt = num(param(p, 0), 0, -120, 120)
    elif name == "PW":
        st.width = num(param(p, 0), 0) or None
    elif name == "LL":
        st.length = num(param(p, 0), 0) or None
    elif name == "MU":
        _set_units(arg, p, st)
    elif name == "PO":
        if (arg[:1] or "N").upper() == "I":
            st.judged = False
    elif name == "CI":
        st.utf8 = int(num(param(p, 0), 0)) in (28, 29, 30)
    else:
        return False
    return True


def _set_prefix(name: str, arg: str, st: State) -> None:
    if name == "CC":
        st.caret = arg[:1] or st.caret
    elif name == "CT":
        st.tilde = arg[:1] or st.tilde
    else:
        st.delim = arg[:1] or st.delim


def _set_units(arg: str, p: list[str], st: State) -> None:
    """``^MUd,a,b``: dots (and a resolution change); inches or mm are not judged."""
    u = (arg[:1] or "D").upper()
    if u != "D":
        st.judged = False
    elif len(p) >= 3:
        a, b = num(param(p, 1), 0), num(param(p, 2), 0)
        if a > 0 and b > 0:
            st.scale = b / a


def set_field(name: str, arg: str, p: list[str], raw: bytes, f: Field, st: State) -> None:
    """Apply a command to the field being read (unknown commands change nothing)."""
    if name in ("FO", "FT"):
        f.origin = (num(param(p, 0), 0), num(param(p, 1), 0))
        f.typeset = name == "FT"
        f.just = int(num(param(p, 2), 0, 0, 2))
    elif name in ("FD", "FV"):
        f.data = raw
    elif name == "FH":
        f.hex_escape = (arg[:1] or "_")
    elif name == "FB":
        f.block = (num(param(p, 0), 0), int(num(param(p, 1), 1, 1, 9999)), num(param(p, 2), 0, -9999),
                   (param(p, 3) or "L").strip()[:1].upper())
    elif name == "TB":  # ^TBo,width,height: a text block, measured like one ^FB line
        f.block = (num(param(p, 1), 0), 1, 0.0, "L")
    elif name == "FN":
        f.number = int(num(param(p, 0), 0))
    elif name == "A" or name == "A@":
        f.font = font(name, arg, st)
    elif name in _DRAWN or name.startswith("B"):
        f.cmd, f.params = name, p
        if name == "GF":
            f.data = raw


def font(name: str, arg: str, st: State) -> tuple[str, str, float, float]:
    """``^Afo,h,w`` / ``^A@o,h,w,file``: (font, orientation, cell height, width) in dots."""
    if name == "A@":
        rest = arg
        fnt = "0"
    else:
        fnt, rest = (arg[:1] or "0").upper(), arg[1:]
    p = rest.split(st.delim)
    o = (param(p, 0) or "").strip()[:1].upper()
    o = o if o and o in ORIENT else st.fw
    h = num(param(p, 1), 0)
    w = num(param(p, 2), 0)
    if fnt in BITMAP_FONTS:
        bh, bw = BITMAP_FONTS[fnt]
        mh = max(1, round(h / bh)) if h else 1
        mw = max(1, round(w / bw)) if w else mh
        h, w = bh * mh, bw * mw * 1.0
    else:
        h = h or w or st.cf[1]
        w = w or h
    return (fnt, o, h, w)
