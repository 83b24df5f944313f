"""Syndicator: ingest upstream feeds and article pages, publish RSS, Atom and JSON Feed per category.

The package reads as the pipeline: fetch → parse → normalise → store → render → web.
"""

__version__ = "0.1.0"
