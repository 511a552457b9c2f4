"""USB discovery behind the transport's USB backend, with recorded descriptors and the IEEE-1284
device IDs real printers report (CUPS ``lpinfo -l -v`` / ``usblp`` sysfs captures)."""

from __future__ import annotations

import errno
import json
import tomllib
from dataclasses import dataclass, field

import usb.core

from printstation.face.cli import main
from printstation.discover import blocks, usb as dusb
from printstation.transport.usb import decode_device_id, has_printer_interface, read_device_id


def recorded(device_id: str) -> bytes:
    """A GET_DEVICE_ID answer as it comes off the wire: 2-byte big-endian length, then the text."""
    body = device_id.encode("latin-1")
    return (len(body) + 2).to_bytes(2, "big") + body


@dataclass
class Intf:
    bInterfaceNumber: int
    bInterfaceClass: int
    bAlternateSetting: int = 0

    def __iter__(self):
        return iter(())


@dataclass
class Dev:
    idVendor: int
    idProduct: int
    serial: str | None
    device_id: bytes | Exception
    configs: list[list[Intf]] = field(default_factory=lambda: [[Intf(0, 7)]])
    bDeviceClass: int = 0
    requests: list[tuple] = field(default_factory=list)

    @property
    def iSerialNumber(self) -> int:
        return 3 if self.serial else 0

    def __iter__(self):
        return iter(self.configs)

    def ctrl_transfer(self, bmRequestType, bRequest, wValue, wIndex, length, timeout):
        self.requests.append((bmRequestType, bRequest, wValue, wIndex, length))
        if isinstance(self.device_id, Exception):
            raise self.device_id
        return list(self.device_id[:length])


class Backend:
    """The transport's UsbBackend shape, over recorded devices (``find_printers`` filters by class
    with the same function the real backend uses)."""

    def __init__(self, devices):
        self.devices = devices
        self.disposed = 0

    def find_printers(self):
        return [d for d in self.devices if has_printer_interface(d)]

    def serial_number(self, dev):
        return dev.serial

    def dispose(self, dev):
        self.disposed += 1


ZD421 = "MANUFACTURER:Zebra Technologies ;COMMAND SET:ZPL;MODEL:ZTC ZD421-203dpi ZPL;CLASS:PRINTER;OPTIONS:XML;"
ZT411 = ("SERN:99J204300180;MANUFACTURER:Zebra Technologies ;COMMAND SET:ZPL;MODEL:ZTC ZT411-300dpi ZPL;"
         "CLASS:PRINTER;OPTIONS:XML;")
GC420D = "MANUFACTURER:Zebra Technologies ;COMMAND SET:EPL;MODEL:ZTC GC420d (EPL);CLASS:PRINTER;"
POS80 = "MFG:Printer;CMD:EPSON;MDL:POS-80;CLS:PRINTER;1"
XP58 = "MFG:Xprinter;MDL:XP-58;CMD:ESC/POS;"
TE200 = "MFG:TSC;MDL:TE200;CMD:TSPL;"
RP425 = "CMD:ZPL;MODEL:RP425(ZPL 203DPI)"
G500 = "MFG:GODEX;CMD:EZPL;MDL:G500;"


def bench():
    return [
        Dev(0x0A5F, 0x0181, "D4J222601234", recorded(ZD421)),
        Dev(0x0A5F, 0x0130, None, recorded(ZT411)),  # serial only in the device ID
        Dev(0x0A5F, 0x00A0, "28J123456789", recorded(GC420D)),
        Dev(0x0418, 0x5011, "1A6766D50000", recorded(POS80)),
        Dev(0x0483, 0x5743, None, recorded(XP58)),
        Dev(0x1203, 0x0230, "TE200-0001", recorded(TE200),
            configs=[[Intf(0, 3), Intf(1, 7, 0), Intf(1, 7, 1)]]),  # printer on interface 1
        Dev(0x0FE6, 0x8800, None, recorded(RP425)),
        Dev(0x195F, 0x0001, "G5-77", recorded(G500)),
        Dev(0x046D, 0xC31C, None, b"", configs=[[Intf(0, 3)]]),  # a keyboard: not a printer
    ]


def test_usb_scan_reads_device_ids(tmp_path):
    devices = bench()
    backend = Backend(devices)
    found, keys, problem = dusb.scan_libusb(backend)
    assert problem is None and len(found) == 8 and backend.disposed == 8
    got = [(f.uri, f.lang, f.model, f.dpi, f.manufacturer, f.serial) for f in found]
    assert got == [
        ("usb://0a5f:0181?serial=D4J222601234", "zpl", "ZTC ZD421-203dpi ZPL", 203, "Zebra Technologies", "D4J222601234"),
        ("usb://0a5f:0130?serial=99J204300180", "zpl", "ZTC ZT411-300dpi ZPL", 300, "Zebra Technologies", "99J204300180"),
        ("usb://0a5f:00a0?serial=28J123456789", "epl2", "ZTC GC420d (EPL)", None, "Zebra Technologies", "28J123456789"),
        ("usb://0418:5011?serial=1A6766D50000", "escpos", "POS-80", None, "Printer", "1A6766D50000"),
        ("usb://0483:5743", "escpos", "XP-58", None, "Xprinter", None),
        ("usb://1203:0230?serial=TE200-0001", "tspl", "TE200", 203, "TSC", "TE200-0001"),
        ("usb://0fe6:8800", "zpl", "RP425(ZPL 203DPI)", 203, None, None),
        ("usb://195f:0001?serial=G5-77", None, "G500", None, "GODEX", "G5-77"),
    ]
    assert found[-1].problem == "GODEX G500 speaks EZPL: not a language printstation prints"
    # GET_DEVICE_ID: class request to the interface, config index, interface << 8 | alternate
    assert devices[0].requests == [(0xA1, 0, 0, 0x0000, 1023)]
    assert devices[5].requests == [(0xA1, 0, 0, 0x0100, 1023)]
    assert devices[8].requests == []


def test_usb_blocks_and_names():
    found, _, _ = dusb.scan_libusb(Backend(bench()))
    text = blocks.render_text(found)
    doc = tomllib.loads(text)
    assert [p["name"] for p in doc["printers"]] == ["zd421", "zt411", "gc420d", "pos-80", "xp-58", "te200", "rp425"]
    assert doc["printers"][1] == {"name": "zt411", "uri": "usb://0a5f:0130?serial=99J204300180", "lang": "zpl",
                                  "dpi": 300}
    assert "# usb://195f:0001?serial=G5-77: GODEX G500 speaks EZPL" in text


def test_usb_permission_and_broken_answers():
    devs = [Dev(0x0A5F, 0x0181, "A", usb.core.USBError("Access denied", errno=errno.EACCES)),
            Dev(0x0A5F, 0x0182, "B", b"\x00")]
    found, _, _ = dusb.scan_libusb(Backend(devs))
    assert found[0].lang is None and "permission denied" in found[0].problem
    assert found[1].lang is None


def test_device_id_framing():
    assert decode_device_id(recorded(XP58)) == XP58
    little = (len(XP58) + 2).to_bytes(2, "little") + XP58.encode()
    assert decode_device_id(little) == XP58
    assert decode_device_id(recorded(XP58) + b"\x00" * 40) == XP58
    assert decode_device_id(b"") == ""
    assert read_device_id(Dev(1, 2, None, recorded(TE200)), 0, 0) == TE200
    assert dusb.parse_device_id("mfg:HP;mdl:LaserJet 400")["MDL"] == "LaserJet 400"
    assert dusb.lang_from_cmd("EZPL,GEPL,GZPL") == "epl2"
    assert dusb.lang_from_cmd("ZPL:2,XML") == "zpl" and dusb.lang_from_cmd("TSPL2,ZPL") == "tspl"
    assert dusb.lang_from_cmd("PJL,PCL") is None


def _sysfs(tmp_path, name, device_id, vid, pid, serial=None):
    dev = tmp_path / "devices" / f"1-{name}"
    intf = dev / f"1-{name}:1.0"
    intf.mkdir(parents=True)
    (intf / "ieee1284_id").write_text(device_id + "\n")
    (dev / "idVendor").write_text(f"{vid:04x}\n")
    (dev / "idProduct").write_text(f"{pid:04x}\n")
    if serial:
        (dev / "serial").write_text(serial + "\n")
    node = tmp_path / "usbmisc" / name
    node.mkdir(parents=True)
    (node / "device").symlink_to(intf)


def test_usblp_nodes_and_dedup(tmp_path):
    _sysfs(tmp_path, "lp0", ZD421, 0x0A5F, 0x0181, "D4J222601234")  # also seen by libusb
    _sysfs(tmp_path, "lp1", POS80, 0x0418, 0x5011, "1A6766D50000")
    found, notes = dusb.scan(Backend(bench()[:1]), sysfs=tmp_path / "usbmisc", dev_dir=tmp_path / "dev")
    assert [f.uri for f in found] == ["usb://0a5f:0181?serial=D4J222601234", f"file://{tmp_path}/dev/lp1"]
    assert found[1].lang == "escpos" and found[1].model == "POS-80" and notes == []


class NoLibusb(Backend):
    def find_printers(self):
        raise usb.core.NoBackendError("No backend available")


def test_without_libusb_usblp_still_works(tmp_path):
    _sysfs(tmp_path, "lp0", TE200, 0x1203, 0x0230)
    found, notes = dusb.scan(NoLibusb([]), sysfs=tmp_path / "usbmisc", dev_dir=tmp_path / "dev")
    assert [(f.uri, f.lang, f.dpi) for f in found] == [(f"file://{tmp_path}/dev/lp0", "tspl", 203)]
    assert notes == ["libusb is not available (install libusb-1.0): only usblp nodes were looked at"]


def test_discover_usb_cli_json(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(dusb, "SYSFS_USBMISC", tmp_path / "none")
    import printstation.transport.usb as tusb

    monkeypatch.setattr(tusb, "PyUsbBackend", lambda: Backend(bench()[:2]))
    assert main(["printers", "discover", "--usb", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got[0] == {"uri": "usb://0a5f:0181?serial=D4J222601234", "lang": "zpl", "model": "ZTC ZD421-203dpi ZPL",
                      "firmware": None, "dpi": 203, "media": None}
    assert len(got) == 2


def test_lpioc_number():
    # _IOC(_IOC_READ, 'P', 1, 1024) as <linux/usb/... usblp> defines it
    assert dusb.lpioc_get_device_id(1024) == 0x84005001
