"""Listing pages and sitemaps → article URLs to ingest as pages.

Pure functions on fetched bytes/text: `parse_listing` reads a category page (article links
in order and the next page), `parse_sitemap` a sitemap, sitemap index or Google News
sitemap. Fetching, crawl delay and "seen before" checks belong to the job that calls them.
"""

from .listing import DiscoverError, ListingPage, parse_listing
from .sitemap import DiscoveredLink, SitemapDocument, parse_sitemap, parse_w3c_datetime

__all__ = [
    "DiscoverError",
    "DiscoveredLink",
    "ListingPage",
    "SitemapDocument",
    "parse_listing",
    "parse_sitemap",
    "parse_w3c_datetime",
]
