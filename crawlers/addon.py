"""The interdict Scrapy add-on (`ADDONS`): enables the crawl's own components on top of Scrapy's.

`crawlers.settings.crawl_settings` turns a site config into Scrapy knobs; which components a crawl runs is
this add-on's business, so there is one place to read the component order and why.
"""
from __future__ import annotations

# Downloader middlewares, by Scrapy order (lower = nearer the engine):
#   LoginMiddleware (560) sees the final response (after Redirect and Evidence) and holds requests while the
#   crawl logs in (auth: login_form); not enabled without auth;
#   EvidenceMiddleware (580) after HttpCompression (590) so the archived body is the decoded document, after
#   Redirect (600) so the archived response is the final one;
#   UnsafeRedirectMiddleware (650) sees a response before Redirect (600) and MetaRefresh (580) do.
DOWNLOADER_MIDDLEWARES = {"crawlers.login.LoginMiddleware": 560, "crawlers.middlewares.EvidenceMiddleware": 580,
                          "crawlers.middlewares.UnsafeRedirectMiddleware": 650}
# Scrapy's DepthMiddleware (900) gives way to ours, which counts what it drops.
SPIDER_MIDDLEWARES = {"scrapy.spidermiddlewares.depth.DepthMiddleware": None,
                      "crawlers.middlewares.DepthLimitMiddleware": 900}
ITEM_PIPELINES = {"crawlers.pipelines.NormalizePipeline": 100, "crawlers.pipelines.BatchPipeline": 300}
# The run comes before CloseSpider (0): it sets the pages and items left to a resumed run before CloseSpider
# reads them.
EXTENSIONS = {"crawlers.runstate.RunExtension": -10, "crawlers.recheck.RecheckExtension": 500}


class InterdictAddon:
    """Adds our components to whatever the settings already enable (a test or benchmark may add its own)."""

    def update_settings(self, settings) -> None:
        from scrapy.utils.misc import load_object
        for name, components in (("DOWNLOADER_MIDDLEWARES", DOWNLOADER_MIDDLEWARES),
                                 ("SPIDER_MIDDLEWARES", SPIDER_MIDDLEWARES), ("ITEM_PIPELINES", ITEM_PIPELINES),
                                 ("EXTENSIONS", EXTENSIONS)):
            for path, order in components.items():
                settings.set_in_component_priority_dict(name, load_object(path), order)
