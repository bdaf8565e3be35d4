"""The number grammar of the API's query string and of the data CSV: plain ASCII decimals
(no "nan", "inf", "1_000", hex or Unicode digits), declared once for both."""

import re

DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
