"""The normalise stage: upstream entries → Articles with stable ids, UTC dates, safe HTML.

Pure functions only; the ingest job calls `normalise_entry` for every parsed entry.
"""

from .dates import out_of_range, parse_date, warm_dates
from .entry import normalise_entry
from .errors import NormaliseError
from .ids import article_id
from .sanitise import sanitise_html
from .text import plain_text, strip_xml_illegal, summarise
from .urls import absolute_url, canonical_url

__all__ = [
    "NormaliseError",
    "absolute_url",
    "article_id",
    "canonical_url",
    "normalise_entry",
    "out_of_range",
    "parse_date",
    "plain_text",
    "sanitise_html",
    "strip_xml_illegal",
    "summarise",
    "warm_dates",
]
