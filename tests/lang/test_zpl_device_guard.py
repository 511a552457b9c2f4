"""A ZPL label may set up its own label (``^PW``, ``^MN``, ``~SD``, even ``^JUS``, as ZebraDesigner
writes), but it may not reconfigure the printer for every later job: restore factory defaults,
reset it, change its network, serial or wireless settings, its password, its command prefixes,
erase its flash, turn on hex-dump diagnostics, or send Set-Get-Do commands. Such a label is
refused with one line (a failed job, the hot folder's ``.failed``) and nothing reaches the
printer; the real-world corpus still passes byte for byte."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from printstation import BadInput, Media, PrinterSpec
from printstation.lang.zpl import passthrough
from support.daemon_harness import FINAL, running, wait_until, write_config, zpl_values
from support.labelgen import wb_sticker_zpl
from support.printer_sinks import RecordingSink

CORPUS = Path(__file__).resolve().parent.parent / "data" / "zpl-corpus"
SPEC = PrinterSpec(media=Media(102, 152))
LABEL = b"^XA^FO20,20^A0N,30,30^FDhello^FS^XZ"

POISON = {
    b"^XA^JUF^XZ": "^JUF",                                         # factory defaults
    b"^XA^JUN^XZ" + LABEL: "^JUN",                                 # network factory defaults
    b"~JR" + LABEL: "~JR",                                         # power-on reset
    b"^XA^NS,192.168.9.9,255.255.255.0,192.168.9.1^XZ": "^NS",     # wired network settings
    b"^XA^ND2,A^XZ": "^ND",
    b"^XA^WIA,10.0.0.9,255.0.0.0,10.0.0.1^XZ": "^WI",              # wireless
    b"^XA^WPnew-pass^XZ": "^WP",
    b"^XA^KP9999^XZ": "^KP",                                       # front panel password
    b"^XA^SC1200,8,N,1,N,N^XZ": "^SC",                             # serial settings
    b"^XA^CC#^XZ" + LABEL: "^CC",                                  # a new caret: later jobs misread
    b"~CT!" + LABEL: "~CT",
    b"^XA^CD;^FO1,1^FDx^FS^XZ": "^CD",
    b"^XA^IDE:*.*^FS^XZ": "^ID",                                   # erase stored flash objects
    b"^XA^JBE^XZ": "^JB",                                          # initialise (erase) flash
    b"~JD" + LABEL: "~JD",                                         # hex-dump diagnostics mode
    b"~JB" + LABEL: "~JB",
    b'! U1 setvar "ip.addr" "10.9.9.9"\r\n' + LABEL: "setvar",     # Set-Get-Do
    b'! U1 do "device.reset" ""\r\n' + LABEL: "setvar",
    LABEL + b'\r\n! U1 setvar "device.languages" "line_print"\r\n': "setvar",
    LABEL + b'{}{"device.reset":""}': "setvar",
    b"^xa^nsa^xz": "^NS",                                          # lower case is the same command
    b"^XA^FO1,1^FDhi~JR^FS^XZ": "~JR",                             # a tilde command runs inside field data
    b"^XA^FO1,1^FX note ~CT#^FS^XZ" + LABEL: "~CT",
}


@pytest.mark.parametrize("zpl", list(POISON), ids=[v + str(i) for i, v in enumerate(POISON.values())])
def test_a_label_that_reconfigures_the_printer_is_refused(zpl):
    with pytest.raises(BadInput) as err:
        passthrough(zpl, SPEC)
    msg = str(err.value)
    assert "\n" not in msg and "printer" in msg
    assert POISON[zpl] in msg or POISON[zpl] == "setvar"
    assert b"9999" not in zpl or "9999" not in msg  # a password given is never repeated


@pytest.mark.parametrize("zpl", [
    b"CT~~CD,~CC^~CT~\r\n^XA~TA000~JSN^LT0^MNW^MTT^PON^PMN^LH0,0^JMA^PR4,4~SD15^JUS^LRN^CI0^XZ" + LABEL,
    b"^XA^MMT^MNY^PR6^JUS^XZ" + LABEL,
    b"^XA^IDR:LOGO.GRF^FS^XZ" + LABEL,                            # cleaning up its own RAM graphic
    b"^XA^FO10,10^FD! U1 setvar is only text here^FS^XZ",          # field data is not a command
    b"^XA^FO10,10^FDnetwork ^FS^FO10,50^FDNS^FS^XZ",
    b"^XA^CC^^CT~^CD,^FO1,1^FDdefaults^FS^XZ",
])
def test_label_setup_commands_still_pass_byte_for_byte(zpl):
    out = b"".join(passthrough(zpl, SPEC))
    assert zpl.split(b"^XA", 1)[1][:10] in out


def test_the_corpus_still_passes():
    for p in sorted(CORPUS.glob("*.zpl")):
        passthrough(p.read_bytes(), PrinterSpec(media=Media(178, 152), dpi=203))


def test_the_daemon_fails_such_labels_and_the_printer_never_sees_them(tmp_path):
    hot = tmp_path / "hot"
    with RecordingSink() as sink:
        cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [{"name": "z", "uri": sink.uri}],
                           extra=f'\n[hotfolder]\npath = "{hot}"\nsettle_ms = 100\n')
        with running(cfg) as d:
            http = httpx.Client(base_url=d.api.url, timeout=30)
            bad = http.post("/jobs", params={"printer": "z"},
                            content=b"^XA^NS,10.9.9.9,255.0.0.0,10.0.0.1^JUS^XZ" + wb_sticker_zpl("AFTER"))
            assert bad.status_code == 201
            tmp = hot / ".x.tmp"
            tmp.write_bytes(wb_sticker_zpl("HOT") + b'\r\n! U1 setvar "ip.addr" "10.9.9.9"\r\n')
            os.rename(tmp, hot / "z" / "reconf.zpl")
            good = http.post("/jobs", params={"printer": "z"}, content=wb_sticker_zpl("GOOD")).json()["id"]
            wait_until(lambda: (hot / ".failed" / "reconf.zpl.error.txt").exists(), what="the hot file failed")
            wait_until(lambda: http.get(f"/jobs/{good}").json()["state"] in FINAL, what="the good job")
            job = http.get(f"/jobs/{bad.json()['id']}").json()
            assert job["state"] == "failed" and "^NS" in job["error"], job
            assert "settings" in (hot / ".failed" / "reconf.zpl.error.txt").read_text()
            assert zpl_values(sink.data) == ["GOOD"]
            assert b"^NS" not in sink.data and b"setvar" not in sink.data
