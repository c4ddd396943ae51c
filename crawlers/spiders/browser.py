"""Page methods of browser-mode crawls (scrapy-playwright), run in the page before its response is taken."""
from __future__ import annotations


async def wait_for_optional(page, selector: str, timeout_ms: float) -> bool:
    """Wait for the selector but never fail the page: an empty storefront is data, not an error."""
    try:
        await page.wait_for_selector(selector, timeout=timeout_ms)
        return True
    except Exception:
        return False


async def share_session_cookies(page, request) -> None:
    """Hand the Scrapy session (login cookies) to the browser before it navigates: Chromium drops a Cookie
    header set from outside, so the cookies go into the browser context for the request's URL."""
    header = request.headers.get("Cookie")
    if not header:
        return
    cookies = []
    for part in header.decode("latin-1").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name:
            cookies.append({"name": name, "value": value, "url": request.url})
    if cookies:
        await page.context.add_cookies(cookies)


async def scroll_to_bottom(page, times: int) -> None:
    for _ in range(times):
        await page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        await page.wait_for_timeout(300)
