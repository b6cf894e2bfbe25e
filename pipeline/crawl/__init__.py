"""The requests-based crawler and the Search Console API client (SPEC sections 4.4 and 5).

Separate pieces, each usable alone: :mod:`~pipeline.crawl.addresses` (the address guard),
:mod:`~pipeline.crawl.http` (one HTTP layer: pooled sessions, timeouts, byte caps, retries, conditional
GET), :mod:`~pipeline.crawl.politeness` (per-host concurrency and delay), :mod:`~pipeline.crawl.robots`
(RFC 9309), :mod:`~pipeline.crawl.page` (what an HTML page says about itself and its links),
:mod:`~pipeline.crawl.fetcher` (one URL through the whole path), :mod:`~pipeline.crawl.frontier` (the
crawl's state on disk), :mod:`~pipeline.crawl.crawler` (the crawl run) and
:mod:`~pipeline.crawl.search_console` (the API client). This package's ``__init__`` stays import-free:
``pipeline.config`` reads :mod:`~pipeline.crawl.settings` while DAG files are parsed.
"""
