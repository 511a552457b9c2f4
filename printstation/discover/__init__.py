"""Find printers and ask them what they are: ``printstation printers discover``.

- :mod:`.probe` asks a printer on a TCP port or a serial device, politely and with short
  timeouts, in each printer language of :mod:`printstation.lang.registry` that has ``IDENTIFY``
  (in the registry's order), stopping at the first answer.
- :mod:`.usb` lists USB printer-class devices and usblp nodes and reads their IEEE-1284 device ID.
- :mod:`.blocks` turns what was found into ready-to-paste TOML ``[[printers]]`` blocks (or JSON)
  and appends them to a config file.
"""

from .probe import Identity, probe_uri

__all__ = ["Identity", "probe_uri"]
