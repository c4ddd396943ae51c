"""Tenants come from the site configs: each `config/sites/<id>.yaml` names the `tenant:` (the platform's
trust-and-safety team) that owns its listings. Users are given only declared tenants, the admin's Tenant filter
offers them, and a reviewer's dashboard shows the crawl runs of its tenants' sites.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from crawlers.siteconfig import load_sites, site_files
from interdict.settings import current_settings


def site_tenants(directory: Path | None = None) -> dict[str, str]:
    """site id -> tenant, for every valid site config (invalid ones: `interdict sites check`). Parsed again
    only when a file changes: validating the configs costs far more than a page view may."""
    directory = Path(directory) if directory else current_settings().sites_path
    stamp = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in site_files(directory))
    return dict(_parsed(str(directory), stamp))


@lru_cache(maxsize=8)
def _parsed(directory: str, stamp: tuple) -> tuple[tuple[str, str], ...]:
    sites, _ = load_sites(Path(directory))
    return tuple(sorted((site.id, site.tenant) for site in sites.values()))


def declared_tenants(directory: Path | None = None) -> dict[str, list[str]]:
    """tenant -> the ids of its sites, sorted."""
    out: dict[str, list[str]] = {}
    for site_id, tenant in sorted(site_tenants(directory).items()):
        out.setdefault(tenant, []).append(site_id)
    return dict(sorted(out.items()))


def check_tenants(tenants: list[str], directory: Path | None = None) -> list[str]:
    """The tenants, stripped and de-duplicated; ValueError naming the first one no site config declares."""
    wanted = sorted({t.strip() for t in tenants if t and t.strip()})
    declared = declared_tenants(directory)
    unknown = [t for t in wanted if t not in declared]
    if unknown:
        where = Path(directory) if directory else current_settings().sites_path
        raise ValueError(f"tenant: {unknown[0]!r} is not declared by any site config in {where} "
                         f"(declared: {', '.join(declared) or 'none'})")
    return wanted
