"""Site config: one YAML file per platform (config/sites/<id>.yaml), validated into a `SiteConfig`.

An operator adds a platform by writing data, not code, so every mistake must come back as one line naming
the file, the line, the field and the reason (`SiteConfigError`). A bad file never stops the others:
`load_sites()` returns the good sites *and* the errors.

String values may use ``${ENV_VAR}`` or ``${ENV_VAR:-default}`` (fixture ports, proxies, per-environment URLs).
Secrets never live in the YAML: login forms name the *environment variables* that hold credentials.
The full schema, with comments, is in config/sites/_example.yaml.disabled and crawlers/README.md.

    values.py     durations, sizes, environment variable names, the strict base model
    selectors.py  selectors (CSS/XPath/regex, syntax checked at load), discovery, item rules
    schema.py     render, network, auth, politeness, limits, markers, recrawl, schedule, policy, SiteConfig
    loader.py     YAML -> ${VAR} -> SiteConfig, errors as `file:line: field: reason`
"""
from crawlers.siteconfig.loader import (SiteConfigError, SiteConfigErrors, load_site, load_site_file, load_sites,
                                        parse_site, site_files)
from crawlers.siteconfig.schema import (Auth, Limits, LoginStep, Markers, Network, Policy, Politeness, Recrawl,
                                        Render, Schedule, SiteConfig)
from crawlers.siteconfig.selectors import Discovery, ItemRules, Selector, UrlTemplate, VendorPage
from crawlers.siteconfig.values import parse_bytes, parse_duration

__all__ = ["Auth", "Discovery", "ItemRules", "Limits", "LoginStep", "Markers", "Network", "Policy", "Politeness",
           "Recrawl", "Render", "Schedule", "Selector", "SiteConfig", "SiteConfigError", "SiteConfigErrors",
           "UrlTemplate", "VendorPage", "load_site", "load_site_file", "load_sites", "parse_bytes",
           "parse_duration", "parse_site", "site_files"]
