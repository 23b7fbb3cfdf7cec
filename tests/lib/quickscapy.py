# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""scapy for the test helpers at a fraction of the cost of `import scapy.all` (3 s of CPU per
process on this machine, paid at every frame a suite crafts): import this module first, then only
the layers you use (scapy.layers.l2, scapy.layers.inet, ...). It keeps scapy from doing two things
no test uses: reading Wireshark's vendor table (2 MB, parsed at import when tshark is installed;
it only names the vendors of MAC addresses) and loading cryptography (for the TLS, IPsec and
802.11 layers, which scapy disables without it)."""
import os.path
import sys

if "scapy.data" not in sys.modules:
    sys.modules.setdefault("cryptography", None)  # import cryptography -> ImportError
    _exists = os.path.exists
    os.path.exists = lambda p: not str(p).endswith("share/wireshark/manuf") and _exists(p)
    try:
        import scapy.config  # noqa: F401
        import scapy.data  # noqa: F401 (where the table is looked for, once)
    finally:
        os.path.exists = _exists
