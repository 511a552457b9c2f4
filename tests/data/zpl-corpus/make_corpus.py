"""Write the ZPL corpus (labels as real tools write them) and their sidecars.

Run once: ``python tests/data/zpl-corpus/make_corpus.py``; the files are committed. Each
``NN-name.zpl`` has ``NN-name.json``: the media (mm, dpi) it was made for and the barcodes it
carries (``format`` as zxing-cpp names it, ``value`` as decoded). ``unrendered`` lists symbols
the Zebrash renderer cannot draw (Code 93, UPC-A/E, EAN-8): the test checks those commands are
passed through byte for byte and the rest renders the same.
"""

from __future__ import annotations

import base64
import json
import sys
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOTS_PER_MM = 8


def gs1_check(digits: str) -> str:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def logo(w_bytes: int, rows: int) -> bytes:
    """A simple logo bitmap: a frame with a diagonal band (packed rows, 1 = black)."""
    out = bytearray()
    w = w_bytes * 8
    for y in range(rows):
        row = [0] * w
        for x in range(w):
            edge = x < 3 or x >= w - 3 or y < 3 or y >= rows - 3
            band = abs((x * rows) // w - y) < 4
            row[x] = 1 if edge or band else 0
        for i in range(0, w, 8):
            out.append(int("".join(map(str, row[i:i + 8])), 2))
    return bytes(out)


def acs(data: bytes, bpr: int) -> str:
    sys.path.insert(0, str(HERE.parents[2]))
    from printstation.lang.zpl import acs_encode

    return acs_encode(data, bpr)


def z64(data: bytes) -> str:
    import binascii

    b64 = base64.b64encode(zlib.compress(data, 9))
    return f":Z64:{b64.decode()}:{binascii.crc_hqx(b64, 0):04X}"


def border(w_mm: float, h_mm: float, inset: int = 12, t: int = 4) -> str:
    W, H = round(w_mm * DOTS_PER_MM), round(h_mm * DOTS_PER_MM)
    return f"^FO{inset},{inset}^GB{W - 2 * inset},{H - 2 * inset},{t}^FS"


LABELS: list[dict] = []


def label(name: str, media: tuple[float, float], zpl: str, barcodes: list[tuple[str, str]],
          unrendered: list[tuple[str, str, str]] = (), *, crlf: bool = False, prefix: bytes = b"",
          encoding: str = "utf-8", note: str = "") -> None:
    text = zpl.strip("\n") + "\n"
    if crlf:
        text = text.replace("\n", "\r\n")
    LABELS.append({"name": name, "media": media, "data": prefix + text.encode(encoding),
                   "barcodes": barcodes, "unrendered": list(unrendered), "note": note})


# --------------------------------------------------------------------------- the labels

TRACK = "1Z999AA10123456784"
label("01-shipping-4x6-code128", (102, 152), f"""
^XA
^PW816
^LL1216
{border(102, 152)}
^FO40,40^A0N,36,36^FDFROM: ACME WAREHOUSE 4^FS
^FO40,84^A0N,28,28^FD1200 INDUSTRIAL PKWY, RENO NV 89502^FS
^FO24,140^GB768,4,4^FS
^FO40,170^A0N,44,44^FDSHIP TO:^FS
^FO60,230^A0N,40,40^FDJANE DOE^FS
^FO60,280^A0N,40,40^FD77 MAPLE AVENUE APT 5^FS
^FO60,330^A0N,40,40^FDSPRINGFIELD IL 62704^FS
^FO24,420^GB768,4,4^FS
^FO40,450^A0N,30,30^FDTRACKING #: {TRACK}^FS
^FO70,500^BY3^BCN,220,Y,N,N^FD{TRACK}^FS
^FO24,820^GB768,4,4^FS
^FO40,850^A0N,60,60^FDGROUND^FS
^FO520,850^A0N,60,60^FD1 OF 1^FS
^FO40,940^A0N,30,30^FDREF: PO-448812 / WT 2.4 KG^FS
^XZ
""", [("Code128", TRACK)], crlf=True, note="carrier 4x6, CRLF line ends, Code 128 subset B")

label("02-ups-maxicode", (102, 152), f"""
^XA
^PW816^LL1216
{border(102, 152)}
^FO40,40^A0N,30,30^FDSHIP TO: JOHN SMITH^FS
^FO40,80^A0N,30,30^FD634 ALPHA DR, PITTSBURGH PA 15238^FS
^FO40,160^BD2,1,1^FH^FD001840152382802[)>_1E01_1D961Z00004951_1DUPSN_1D06X610_1D159_1D1234567_1D1/1_1D_1DY_1D634 ALPHA DR_1DPITTSBURGH_1DPA_1E_04^FS
^FO330,200^A0N,90,90^FDPA 152 9-02^FS
^FO40,460^BY3^BCN,180,N,N,N^FD>;420152382802^FS
^FO40,660^A0N,30,30^FDSHIP TO POSTAL CODE: 15238^FS
^FO40,760^BY3^BCN,200,Y,N,N^FD1Z00004951UPSN06X6^FS
^XZ
""", [("Code128", "420152382802"), ("Code128", "1Z00004951UPSN06X6")],
      note="UPS-style MaxiCode mode 2 (checked by render comparison), Code 128 subset C")

SSCC = "00" + "0" + "0614141" + "123456789"
SSCC += gs1_check(SSCC[2:])
label("03-gs1-128-sscc", (102, 152), f"""
^XA^PW816^LL1216
{border(102, 152)}
^FO40,40^A0N,40,40^FDSSCC^FS
^FO40,100^A0N,30,30^FD(00) {SSCC[2:]}^FS
^FO60,160^BY3^BCN,240,Y,N,N,D^FD(00){SSCC[2:]}^FS
^FO24,500^GB768,4,4^FS
^FO40,540^A0N,30,30^FDCONTENT 10614141000415  COUNT 24^FS
^FO40,600^BY2^BCN,200,Y,N,N,D^FD(02)10614141000415(37)24^FS
^XZ
""", [("Code128", f"(00){SSCC[2:]}"), ("Code128", "(02)10614141000415(37)24")], note="GS1-128 mode D")

label("04-code39-warehouse", (102, 76), f"""
^XA^PW816^LL608
{border(102, 76)}
^FO40,40^A0N,36,36^FDBIN LOCATION^FS
^FO40,100^BY3,3.0^B3N,N,160,Y,N^FDA-12-03-B^FS
^FO40,380^A0N,30,30^FDPART: WIDGET-7781 QTY 50^FS
^FO40,440^BY2,2.5^B3N,N,80,N,N^FDWIDGET-7781^FS
^XZ
""", [("Code39", "A-12-03-B"), ("Code39", "WIDGET-7781")], note="Code 39 two ratios")

label("05-code93-asset", (102, 76), f"""
^XA^PW816^LL608
{border(102, 76)}
^FO40,40^A0N,40,40^FDASSET TAG^FS
^FO40,110^BY3^BAN,160,Y,N,N^FDASSET-99120^FS
^FO40,380^A0N,30,30^FDPROPERTY OF ACME CORP - DO NOT REMOVE^FS
^FO40,440^BY3^BCN,100,Y,N,N^FDASSET-99120^FS
^XZ
""", [("Code128", "ASSET-99120")], [("Code93", "ASSET-99120", "^BY3^BAN,160,Y,N,N^FDASSET-99120^FS")],
      note="Code 93 (Zebrash cannot draw it: checked byte for byte)")

EAN = "590123412345"
label("06-ean13-retail", (54, 86), f"""
^XA^PW432^LL688
{border(54, 86, 8, 3)}
^FO30,30^A0N,34,30^FDOrganic Oat Drink^FS
^FO30,72^A0N,26,24^FD1 L - Best before 2027-03^FS
^FO70,140^BY3^BEN,160,Y,N^FD{EAN}^FS
^FO30,400^A0N,70,60^FD2.49 EUR^FS
^FO30,500^A0N,24,22^FDUnit price 2.49 EUR / L^FS
^FO30,560^BY2^BCN,70,N,N,N^FDSKU884120^FS
^XZ
""", [("EAN13", EAN + gs1_check(EAN)), ("Code128", "SKU884120")], note="portrait shelf label 54x86")

UPC = "03600029145"
label("07-upca-price", (54, 86), f"""
^XA^PW432^LL688
{border(54, 86, 8, 3)}
^FO30,30^A0N,30,28^FDHAND SOAP 250ML^FS
^FO50,100^BY2^BUN,150,Y,N,Y^FD{UPC}^FS
^FO30,330^A0N,80,70^FD$3.99^FS
^FO30,460^BY2^BCN,90,Y,N,N^FD{UPC + gs1_check(UPC)}^FS
^XZ
""", [("Code128", UPC + gs1_check(UPC))], [("UPCA", UPC + gs1_check(UPC), f"^BY2^BUN,150,Y,N,Y^FD{UPC}^FS")],
      note="UPC-A (not drawn by Zebrash: byte for byte)")

ITF = "1540014128876"
label("08-itf14-carton", (102, 152), f"""
^XA^PW816^LL1216
{border(102, 152)}
^FO40,40^A0N,50,50^FDCARTON 12 x 1 L^FS
^FO40,130^GB736,300,12^FS
^FO80,170^BY4,2.5^B2N,220,N,N,Y^FD{ITF}^FS
^FO200,460^A0N,40,40^FD{ITF + gs1_check(ITF)}^FS
^FO40,600^BY3,3.0^B2N,160,Y,N,N^FD00123456^FS
^XZ
""", [("ITF", ITF + gs1_check(ITF)), ("ITF", "00123456")], note="ITF-14 with bearer box, I2of5 check digit")

label("09-pdf417-invoice", (102, 152), f"""
^XA^PW816^LL1216
{border(102, 152)}
^FO40,40^A0N,40,40^FDINVOICE 2026-000881^FS
^FO40,100^BY2^B7N,6,5,8^FDINV 2026-000881|ACME GMBH|TOTAL 1299.00 EUR|DUE 2026-12-31|IBAN DE89370400440532013000^FS
^FO40,520^A0N,28,28^FDScan for payment details^FS
^FO40,600^BY2^BCN,120,Y,N,N^FD2026000881^FS
^XZ
""", [("PDF417", "INV 2026-000881|ACME GMBH|TOTAL 1299.00 EUR|DUE 2026-12-31|IBAN DE89370400440532013000"),
      ("Code128", "2026000881")], note="PDF417 8 columns, security 5")

label("10-datamatrix-pharma", (76, 102), f"""
^XA^PW608^LL816
{border(76, 102, 10, 3)}
^FO30,30^A0N,34,30^FDAmoxicillin 500 mg^FS
^FO30,74^A0N,26,24^FD20 capsules - Rx only^FS
^FO40,130^BXN,10,200^FD0103453120000011172712311012345AB21XY7890^FS
^FO330,140^A0N,26,24^FDGTIN 03453120000011^FS
^FO330,180^A0N,26,24^FDEXP 2027-12-31^FS
^FO330,220^A0N,26,24^FDLOT 12345AB^FS
^FO30,600^BY2^BCN,100,Y,N,N^FD12345AB^FS
^XZ
""", [("DataMatrix", "0103453120000011172712311012345AB21XY7890"), ("Code128", "12345AB")], note="DataMatrix module 10")

label("11-qr-url", (76, 102), f"""
^XA^PW608^LL816
{border(76, 102, 10, 3)}
^FO30,30^A0N,40,36^FDTrack your order^FS
^FO100,90^BQN,2,8^FDQA,https://track.example.com/o/8841-2219-7710^FS
^FO30,560^A0N,28,26^FDOrder 8841-2219-7710^FS
^FO30,620^BY2^BCN,100,N,N,N^FD884122197710^FS
^XZ
""", [("QRCode", "https://track.example.com/o/8841-2219-7710"), ("Code128", "884122197710")], note="QR magnification 8 (^FO +10 dots)")

label("12-qr-manual-ecc", (76, 102), f"""
^XA^PW608^LL816
{border(76, 102, 10, 3)}
^FO30,30^A0N,36,32^FDWi-Fi guest access^FS
^FO120,100^BQN,2,7^FDHM,AWIFI:S:GuestNet;T:WPA;P:welcome2026;;^FS
^FO30,560^A0N,26,24^FDNetwork GuestNet^FS
^XZ
""", [("QRCode", "WIFI:S:GuestNet;T:WPA;P:welcome2026;;")], note="QR manual input mode, ECC H")

LOGO = logo(10, 60)
label("13-dg-hex-logo", (102, 76), f"""
~DGR:ACMELOGO.GRF,{len(LOGO)},10,{LOGO.hex().upper()}
^XA^PW816^LL608
{border(102, 76)}
^FO40,40^XGR:ACMELOGO.GRF,2,2^FS
^FO240,50^A0N,50,50^FDACME PARTS^FS
^FO40,220^BY3^BCN,160,Y,N,N^FDACM-000451^FS
^XZ
^XA^IDR:ACMELOGO.GRF^FS^XZ
""", [("Code128", "ACM-000451")], note="~DG plain hex, ^XG at 2x, then the graphic is deleted (^ID)")

label("14-dg-acs-logo", (102, 76), f"""
~DGR:SMALL.GRF,{len(LOGO)},10,{acs(LOGO, 10)}
^XA^PW816^LL608
{border(102, 76)}
^FO600,40^XGR:SMALL.GRF,1,1^FS
^FO40,40^A0N,44,44^FDRETURN LABEL^FS
^FO40,200^BY3^BCN,180,Y,N,N^FDRMA20261201^FS
^XZ
""", [("Code128", "RMA20261201")], note="~DG ACS-compressed")

BIG = logo(20, 120)
label("15-gf-z64", (102, 152), f"""
^XA^PW816^LL1216
{border(102, 152)}
^FO40,40^GFA,{len(BIG)},{len(BIG)},20,{z64(BIG)}^FS
^FO250,60^A0N,50,50^FDFRAGILE^FS
^FO40,400^BY3^BCN,200,Y,N,N^FDFRG-7781-22^FS
^XZ
""", [("Code128", "FRG-7781-22")], note="^GFA :Z64: graphic")

label("16-gf-acs", (102, 152), f"""
^XA^PW816^LL1216
{border(102, 152)}
^FO600,40^GFA,{len(BIG)},{len(BIG)},20,{acs(BIG, 20)}^FS
^FO40,60^A0N,50,50^FDTHIS SIDE UP^FS
^FO40,400^BY3^BCN,200,Y,N,N^FDTSU-1200^FS
^XZ
""", [("Code128", "TSU-1200")], note="^GFA ACS graphic")

label("17-gf-hex", (100, 100), f"""
^XA^PW800^LL800
{border(100, 100)}
^FO40,40^GFA,{len(LOGO)},{len(LOGO)},10,{LOGO.hex().upper()}^FS
^FO200,50^A0N,40,40^FDBATCH LABEL^FS
^FO40,200^BY3^BCN,200,Y,N,N^FDB-2026-11-30^FS
^FO40,520^BXN,8,200^FDB-2026-11-30/L7^FS
^XZ
""", [("Code128", "B-2026-11-30"), ("DataMatrix", "B-2026-11-30/L7")], note="^GFA plain hex")

label("18-stored-format", (102, 152), f"""
^XA
^DFR:SHIP.ZPL^FS
^PW816^LL1216
{border(102, 152)}
^FO40,40^A0N,40,40^FN1^FDNAME^FS
^FO40,100^A0N,34,34^FN2^FDSTREET^FS
^FO40,150^A0N,34,34^FN3^FDCITY^FS
^FO60,260^BY3^BCN,220,Y,N,N^FN4^FD000000^FS
^FO60,620^BQN,2,6^FN5^FDQA,placeholder^FS
^XZ
^XA
^XFR:SHIP.ZPL
^FN1^FDMARIA GARCIA^FS
^FN2^FD15 OCEAN DRIVE^FS
^FN3^FDMIAMI FL 33139^FS
^FN4^FDPKG00088123^FS
^FN5^FDQA,https://example.com/p/PKG00088123^FS
^XZ
""", [("Code128", "PKG00088123"), ("QRCode", "https://example.com/p/PKG00088123")], note="^DF stored format recalled by ^XF")

label("19-reverse-fr", (102, 76), f"""
^XA^PW816^LL608
{border(102, 76)}
^FO24,24^GB768,90,90^FS
^FO50,44^FR^A0N,56,56^FDPRIORITY OVERNIGHT^FS
^FO40,160^BY3^BCN,180,Y,N,N^FDPRI-5522018^FS
^FO40,440^GB300,80,80^FS
^FO60,455^FR^A0N,50,50^FDHAZMAT^FS
^XZ
""", [("Code128", "PRI-5522018")], note="^FR reverse print on black boxes")

label("20-ft-vs-fo", (102, 152), f"""
^XA^PW816^LL1216
{border(102, 152)}
^FT40,90^A0N,50,50^FDBaseline aligned^FS
^FO40,110^A0N,50,50^FDTop aligned^FS
^FT60,420^BY3^BCN,200,Y,N,N^FDFT-BOTTOM-01^FS
^FO60,520^BY3^BCN,200,Y,N,N^FDFO-TOP-02^FS
^FT60,1100^BXN,8,200^FDFT DATAMATRIX^FS
^FT420,1100^BY2^B7N,5,3,4^FDFT PDF417 BOTTOM^FS
^XZ
""", [("Code128", "FT-BOTTOM-01"), ("Code128", "FO-TOP-02"), ("DataMatrix", "FT DATAMATRIX"),
      ("PDF417", "FT PDF417 BOTTOM")], note="^FT (baseline / bottom-left) next to ^FO (top-left)")

label("21-ci28-cyrillic", (102, 152), f"""
^XA^CI28^PW816^LL1216
{border(102, 152)}
^FO40,40^A0N,44,44^FDПолучатель: Иванова Анна^FS
^FO40,100^A0N,36,36^FDг. Москва, ул. Тверская, д. 7, кв. 12^FS
^FO40,150^A0N,36,36^FDПВЗ: Москва Тверская 7^FS
^FO40,230^BY3^BCN,200,Y,N,N^FDWB-987654321^FS
^FO40,560^A0N,36,36^FDАртикул 447281 · Размер M · Цвет синий^FS
^FO40,640^BQN,2,6^FDQA,https://www.wildberries.ru/catalog/447281/detail.aspx^FS
^XZ
""", [("Code128", "WB-987654321"), ("QRCode", "https://www.wildberries.ru/catalog/447281/detail.aspx")],
      note="^CI28 UTF-8 Cyrillic text")

label("22-rotated-fields", (102, 152), f"""
^XA^PW816^LL1216
{border(102, 152)}
^FO40,40^A0N,40,40^FDROTATED FIELDS^FS
^FO60,140^A0R,40,40^FDSIDE TEXT R^FS
^FO140,140^BY3^BCR,140,Y,N,N^FDROT-R-123^FS
^FO420,140^BY3^BCB,140,Y,N,N^FDROT-B-456^FS
^FO680,140^A0B,40,40^FDSIDE TEXT B^FS
^FWI
^FO180,900^BY3^BC,120,Y,N,N^FDROT-I-789^FS
^FO180,1080^A0,40,40^FDUPSIDE DOWN^FS
^XZ
""", [("Code128", "ROT-R-123"), ("Code128", "ROT-B-456"), ("Code128", "ROT-I-789")], note="R/B/I fields and ^FW default")

label("23-crlf-dispatch", (102, 102), f"""
^XA
^PW816
^LL816
{border(102, 102)}
^FO40,40^A0N,50,50^FDDISPATCH NOTE^FS
^FO40,120^A0N,30,30^FDDOCK 4 / ROUTE 17 / STOP 3^FS
^FO40,200^BY3^BCN,200,Y,N,N^FDDSP-17-03-0042^FS
^FO40,520^BY2,3.0^B3N,N,120,Y,N^FDR17S03^FS
^XZ
""", [("Code128", "DSP-17-03-0042"), ("Code39", "R17S03")], crlf=True, note="CRLF line ends")

label("24-bom-utf8", (102, 76), f"""
^XA^CI28^PW816^LL608
{border(102, 76)}
^FO40,40^A0N,44,44^FDSaved by Notepad^FS
^FO40,110^A0N,34,34^FDÜbergabe an Zustellung^FS
^FO40,200^BY3^BCN,200,Y,N,N^FDBOM-000123^FS
^XZ
""", [("Code128", "BOM-000123")], prefix=b"\xef\xbb\xbf", note="UTF-8 byte-order mark before ^XA")

label("25-zebradesigner", (102, 152), f"""
CT~~CD,~CC^~CT~
^XA~TA000~JSN^LT0^MNW^MTT^PON^PMN^LH0,0^JMA^PR4,4~SD15^JUS^LRN^CI0^XZ
^XA
^MMT
^PW812
^LL1218
^LS0
^FO12,12^GB788,1194,4^FS
^FT40,80^A0N,42,40^FH\\^FDShipment 88120^FS
^FT40,140^A0N,34,33^FH\\^FDPallet 3 of 7^FS
^BY3,3,220^FT60,420^BCN,,Y,N
^FD>:SHP88120030007^FS
^FT60,760^BQN,2,7
^FH\\^FDLA,https://example.com/s/88120-3^FS
^FT60,1000^A0N,34,33^FH\\^FDCreated with ZebraDesigner^FS
^PQ1,0,1,Y^XZ
""", [("Code128", "SHP88120030007"), ("QRCode", "https://example.com/s/88120-3")], crlf=True,
      note="ZebraDesigner output: CT~~CD,~CC^~CT~ prefix, a setup format, ^FT fields, ^BY with height")

PALLET = "00" + "1" + "0614141" + "000000017"
PALLET += gs1_check(PALLET[2:])
label("26-pallet-178x152", (178, 152), f"""
^XA^PW1424^LL1216
{border(178, 152, 16, 6)}
^FO50,50^A0N,60,60^FDPALLET LABEL - GS1 LOGISTICS^FS
^FO50,140^A0N,40,40^FDSSCC (00) {PALLET[2:]}^FS
^FO50,210^A0N,40,40^FDGTIN 10614141000415   COUNT 120   BEST BEFORE 27-06-30^FS
^FO16,280^GB1392,6,6^FS
^FO120,330^BY4^BCN,300,Y,N,N,D^FD(00){PALLET[2:]}^FS
^FO16,760^GB1392,6,6^FS
^FO60,800^BY3^BCN,200,Y,N,N,D^FD(02)10614141000415(37)120^FS
^FO1000,800^BXN,10,200^FD00{PALLET[2:]}^FS
^XZ
""", [("Code128", f"(00){PALLET[2:]}"), ("Code128", "(02)10614141000415(37)120"), ("DataMatrix", "00" + PALLET[2:])],
      note="178x152 pallet label")

label("27-label-home", (102, 76), f"""
^XA^PW816^LL608
^LH20,16
^FO0,0^GB776,576,4^FS
^FO20,20^A0N,44,44^FDLABEL HOME 20,16^FS
^FO20,100^BY3^BCN,180,Y,N,N^FDLH-20-16^FS
^LH0,0
^FO40,420^A0N,40,40^FDBACK AT 0,0^FS
^XZ
""", [("Code128", "LH-20-16")], note="^LH moves the fields")

label("28-fb-block-address", (102, 152), f"""
^XA^PW816^LL1216
{border(102, 152)}
^FO40,40^A0N,40,40^FB736,1,0,C^FDCENTRED HEADING^FS
^FO40,120^A0N,34,34^FB736,4,6,L^FDDELIVER TO: LONG ADDRESS LINE THAT WRAPS OVER SEVERAL LINES IN A FIELD BLOCK, 1234 SOMEWHERE STREET, SUITE 500^FS
^FO40,380^A0N,30,30^FB736,2,0,R^FDright aligned note^FS
^FO60,500^BY3^BCN,200,Y,N,N^FDFB-ADDR-77^FS
^XZ
""", [("Code128", "FB-ADDR-77")], note="^FB field blocks (centre, left, right)")

label("29-multi-label-stream", (102, 76), "\n".join(f"""
^XA^PW816^LL608
{border(102, 76)}
^FO40,40^A0N,44,44^FDITEM {i} OF 3^FS
^FO40,130^BY3^BCN,200,Y,N,N^FDSTREAM-{i:04d}^FS
^PQ1,0,1,Y^XZ""" for i in range(1, 4)), [("Code128", f"STREAM-{i:04d}") for i in range(1, 4)],
      note="three formats in one stream")

label("30-code128-subsets", (102, 152), f"""
^XA^PW816^LL1216
{border(102, 152)}
^FO40,40^BY2^BCN,150,Y,N,N^FD>;0123456789012345^FS
^FO40,260^BY2^BCN,150,Y,N,N^FD>:ABC-123456789012^FS
^FO40,480^BY2^BCN,150,Y,N,N^FD>;1234>6ABcd^FS
^FO40,700^BY2^BCN,150,Y,N,N,A^FDAUTO12345678MODE^FS
^FO40,920^BY2^BCN,150,Y,N,N^FDplain subset b 42^FS
^XZ
""", [("Code128", "0123456789012345"), ("Code128", "ABC-123456789012"), ("Code128", "1234ABcd"),
      ("Code128", "AUTO12345678MODE"), ("Code128", "plain subset b 42")],
      note="Code 128 start C, B->C switch, C->B switch, mode A, plain B")

label("31-utf16-bom", (102, 76), f"""
^XA^CI28^PW816^LL608
{border(102, 76)}
^FO40,40^A0N,44,44^FDЭкспорт из 1С^FS
^FO40,200^BY3^BCN,200,Y,N,N^FDUTF16-4410^FS
^XZ
""", [("Code128", "UTF16-4410")], prefix=b"\xff\xfe", encoding="utf-16-le",
      note="UTF-16 LE with a byte-order mark (decoded to UTF-8 for the printer)")

label("32-dhl-style", (102, 152), f"""
^XA^PW816^LL1216
{border(102, 152)}
^FO40,40^A0N,50,50^FDEXPRESS WORLDWIDE^FS
^FO40,110^A0N,28,28^FDFrom: Shop GmbH, 10115 Berlin, DE^FS
^FO40,150^A0N,28,28^FDTo: K. Tanaka, 100-0001 Tokyo, JP^FS
^FO40,220^BY3^BCN,180,Y,N,N^FDJJD0001234567^FS
^FO40,480^BY3,3.0^B2N,150,Y,N,N^FD4019238452170011^FS
^FO560,700^BXN,9,200^FDJJD0001234567|DE|JP|2.0KG^FS
^FO40,720^A0N,30,30^FDWeight 2.0 kg^FS
^FO40,780^A0N,30,30^FDPieces 1/1^FS
^XZ
""", [("Code128", "JJD0001234567"), ("ITF", "4019238452170011"), ("DataMatrix", "JJD0001234567|DE|JP|2.0KG")],
      note="express label: Code 128, I2of5, DataMatrix")

label("33-fba-fnsku", (54, 86), f"""
^XA^PW432^LL688
{border(54, 86, 8, 3)}
^FO30,40^BY2^BCN,120,Y,N,N^FDX00ABCDE12^FS
^FO30,230^A0N,26,24^FB370,3,0,L^FDKids Rain Jacket, Navy, Size 110 - New^FS
^FO30,360^A0N,26,24^FDNew^FS
^FO30,430^BY2^BEN,120,Y,N^FD400638133393^FS
^XZ
""", [("Code128", "X00ABCDE12"), ("EAN13", "400638133393" + gs1_check("400638133393"))], note="marketplace FNSKU 54x86")

label("34-ean8-upce", (76, 102), f"""
^XA^PW608^LL816
{border(76, 102, 10, 3)}
^FO30,30^A0N,34,32^FDSMALL PACK CODES^FS
^FO60,100^BY3^B8N,120,Y,N^FD9638507^FS
^FO60,330^BY3^B9N,120,Y,N,Y^FD0425261^FS
^FO30,560^BY2^BCN,120,Y,N,N^FDSMALL-8-E^FS
^XZ
""", [("Code128", "SMALL-8-E")], [("EAN8", "96385074", "^BY3^B8N,120,Y,N^FD9638507^FS"),
                                   ("UPCE", "04252614", "^BY3^B9N,120,Y,N,Y^FD0425261^FS")],
      note="EAN-8 and UPC-E (not drawn by Zebrash: byte for byte)")

label("35-setup-then-label", (102, 76), f"""
^XA^MMT^MNY^PR6^JUS^XZ
^XA^PW816^LL608
{border(102, 76)}
^FO40,40^A0N,44,44^FDAFTER A SETUP FORMAT^FS
^FO40,130^BY3^BCN,200,Y,N,N^FDSETUP-0099^FS
^FO560,400^BQN,2,4^FDQA,SETUP-0099^FS
^XZ
""", [("Code128", "SETUP-0099"), ("QRCode", "SETUP-0099")], note="a settings-only format before the label")


def main() -> None:
    for old in HERE.glob("*.zpl"):
        old.unlink()
    for old in HERE.glob("*.json"):
        old.unlink()
    for lb in LABELS:
        (HERE / f"{lb['name']}.zpl").write_bytes(lb["data"])
        side = {
            "media_mm": list(lb["media"]), "dpi": 203,
            "barcodes": [{"format": f, "value": v} for f, v in lb["barcodes"]],
            "unrendered": [{"format": f, "value": v, "command": c} for f, v, c in lb["unrendered"]],
            "note": lb["note"],
        }
        (HERE / f"{lb['name']}.json").write_text(json.dumps(side, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(LABELS)} labels written to {HERE}")


if __name__ == "__main__":
    main()
