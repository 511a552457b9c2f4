"""Messages write a printer language the way the registry does ("ESC/POS", as the convert errors,
discover's comments and README do) — the ready line, doctor's model row and the calibration label
said "ESCPOS"."""

from __future__ import annotations

from printstation.discover.verify import compare
from printstation.face.config import loads
from printstation.face.daemon_loop import where_labels_go
from printstation.identify import Identity


def _escpos_config():
    return loads('[[printers]]\nname = "pos"\nuri = "tcp://10.0.0.7"\nlang = "escpos"\n')


def test_doctor_model_row_says_esc_pos():
    p = _escpos_config().printers[0]
    ok, detail, _ = compare(p, Identity(uri="tcp://10.0.0.7:9100", lang="zpl", dpi=203))
    assert not ok and "config says ESC/POS" in detail, detail
    ok, detail, _ = compare(p, Identity(uri="tcp://10.0.0.7:9100", lang="escpos"))
    assert ok and detail.startswith("answers as ESC/POS"), detail


def test_ready_line_says_esc_pos():
    line = where_labels_go(_escpos_config())[0]
    assert "(ESC/POS 58×40)" in line, line
