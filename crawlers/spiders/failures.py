"""Download failures as short, stable error kinds for the run record (`CrawlRun.errors`)."""
from __future__ import annotations

import re


def classify_failure(failure) -> str:
    """A short, stable error kind for the run record."""
    from scrapy.exceptions import (CannotResolveHostError, DownloadCancelledError, DownloadConnectionRefusedError,
                                   DownloadFailedError, DownloadTimeoutError, IgnoreRequest,
                                   ResponseDataLossError)
    from scrapy.spidermiddlewares.httperror import HttpError
    from twisted.internet import error as txerror
    from crawlers.socks import SocksError
    exc = failure.value
    if isinstance(exc, HttpError):
        return f"http_{exc.response.status}"
    if isinstance(exc, (DownloadTimeoutError, txerror.TimeoutError, TimeoutError)):
        return "timeout"
    if isinstance(exc, DownloadCancelledError) or "download max size" in str(exc).lower() \
            or "larger than download max size" in str(exc):
        return "too_large"
    if isinstance(exc, SocksError):
        return "socks"
    if isinstance(exc, (CannotResolveHostError, txerror.DNSLookupError)):
        return "dns"
    if isinstance(exc, (DownloadConnectionRefusedError, txerror.ConnectionRefusedError)):
        return "connection_refused"
    if isinstance(exc, ResponseDataLossError):
        return "data_loss"
    if isinstance(exc, IgnoreRequest):
        msg = str(exc).lower()
        if "redirect" in msg:
            return "redirect_loop"
        if "robots" in msg:
            return "robots_forbidden"
        return "ignored"
    if isinstance(exc, DownloadFailedError) or isinstance(exc, (txerror.ConnectionLost, txerror.ConnectError)):
        return "connection"
    name = type(exc).__name__
    if "Timeout" in name:
        return "timeout"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()[:40]
