"""The one settings object of interdict: built here, in the app shell, and handed to crawlers, nlp and index as
plain arguments (they never read settings themselves).

Sources, strongest first: keyword arguments, environment variables INTERDICT_<KEY>, the operator's file
<config_dir>/settings.yaml (config/settings.yaml under the working directory unless INTERDICT_CONFIG_DIR says
otherwise), and the defaults in interdict/settings.yaml. The defaults are package data read with importlib.resources
and have no copy in code (fields below declare types and limits only), so an installed wheel has them and each
default is written once, next to its comment. A bad value is a SettingsError in the project's
`file:line: field: reason` form, naming the file and line, or the environment variable, that gave it.
"""
from __future__ import annotations

import os
import shlex
from contextvars import ContextVar
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from index import yamlfile

ENV_PREFIX = "INTERDICT_"
DEFAULTS = resources.files("interdict") / "settings.yaml"
_FILES: ContextVar[tuple] = ContextVar("interdict_settings_files", default=())   # this load's YAML sources


class SettingsError(yamlfile.ConfigFileError, ValueError):
    """A bad setting: `file:line: field: reason`, or `env INTERDICT_X: field: reason`."""


class _YamlSource(PydanticBaseSettingsSource):
    """One settings YAML file (bounded loader), remembering the line of every top-level key for errors."""

    def __init__(self, settings_cls, path: str, text: str | None):
        super().__init__(settings_cls)
        self.path, self.values, self.lines = path, {}, {}
        if text is None:
            return
        node = yamlfile.compose(text, path)
        if node is None:
            return
        if not isinstance(node, yaml.MappingNode):
            raise SettingsError(path, node.start_mark.line + 1, "", "expected a mapping of settings")
        for key, _ in node.value:
            self.lines[key.value] = key.start_mark.line + 1
        self.values = yamlfile.load_text(text, path) or {}

    def get_field_value(self, field, field_name):    # required by the base class; __call__ does the work
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.values)


def _operator_file(config_dir: str | Path | None) -> Path:
    where = config_dir or os.environ.get(ENV_PREFIX + "CONFIG_DIR") or _default_config_dir()
    return Path(where) / "settings.yaml"


def _default_config_dir() -> str:
    return str(yamlfile.load_text(DEFAULTS.read_text(encoding="utf-8"), str(DEFAULTS)).get("config_dir"))


class Settings(BaseSettings):
    """Every setting (meanings and defaults: interdict/settings.yaml)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    data_dir: Path
    config_dir: Path
    sites_dir: Path | None
    store: str
    es_index_prefix: str = Field(min_length=1)
    es_refresh_after_upsert: bool
    es_shards: int = Field(ge=1)
    es_replicas: int = Field(ge=0)
    crawl_batch_size: int = Field(ge=1)
    analyze_process: bool
    evidence_gzip_level: int = Field(ge=0, le=9)
    evidence_render_screenshots: bool
    evidence_render_max: int = Field(ge=1)
    evidence_render_timeout: float = Field(gt=0)
    scheduler_db: str | None
    scheduler_misfire_grace: float
    scheduler_shutdown_grace: float
    scheduler_kill_grace: float
    scheduler_crawl_timeout: float
    scheduler_max_workers: int = Field(ge=1)
    scheduler_poll: float
    crawl_queue: str | None
    worker_lease: float = Field(gt=0)
    scheduler_crawl_command: Annotated[tuple[str, ...], NoDecode]
    health_max_error_rate: float = Field(ge=0, le=1)
    health_history_runs: int = Field(ge=1)
    smtp_host: str
    smtp_port: int = Field(ge=1, le=65535)
    smtp_from: str
    smtp_starttls: bool
    alerts_max_attempts: int = Field(ge=1)
    alerts_backoff_seconds: float = Field(ge=0)
    alerts_http_timeout: float = Field(gt=0)
    alerts_after_crawl: bool
    web_secure_cookies: str
    web_trusted_proxies: Annotated[list[str], NoDecode]
    web_session_hours: float = Field(gt=0)
    web_lease_seconds: int = Field(ge=1)
    web_login_max_failures: int = Field(ge=0)
    web_login_max_failures_ip: int = Field(ge=0)
    web_login_window_seconds: int = Field(ge=1)
    web_login_backoff_seconds: float = Field(ge=0)
    notifier_name: str
    notifier_email: str
    web_legal_basis_defaults: dict[str, str]
    app_db_url: str

    @field_validator("web_trusted_proxies", mode="before")
    @classmethod
    def _comma_list(cls, value):
        return [p.strip() for p in value.split(",") if p.strip()] if isinstance(value, str) else value

    @field_validator("scheduler_misfire_grace", "scheduler_shutdown_grace", "scheduler_kill_grace",
                     "scheduler_crawl_timeout", "scheduler_poll", "worker_lease", mode="before")
    @classmethod
    def _duration(cls, value):
        from crawlers.siteconfig import parse_duration
        return parse_duration(value)

    @field_validator("crawl_queue", mode="before")
    @classmethod
    def _queue_url(cls, value):
        from crawlers.scheduler.pglocks import is_postgres
        if value in (None, ""):
            return None
        if not is_postgres(str(value)):
            raise ValueError("the crawl queue needs PostgreSQL (postgresql+psycopg://user@host/db)")
        return str(value)

    @field_validator("scheduler_crawl_command", mode="before")
    @classmethod
    def _command(cls, value):
        from crawlers.scheduler.settings import check_command
        return check_command(shlex.split(value) if isinstance(value, str) else [str(a) for a in value])

    @field_validator("web_secure_cookies", mode="before")
    @classmethod
    def _cookies(cls, value):
        value = str(value).strip().lower()
        if value not in ("auto", "true", "false", "1", "0", "yes", "no", "always", "never"):
            raise ValueError("expected auto, true or false")
        return value

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        return (init_settings, env_settings, *_FILES.get())

    # ------------------------------------------------------------------ what lower layers are handed
    @property
    def sites_path(self) -> Path:
        return self.sites_dir if self.sites_dir is not None else self.config_dir / "sites"

    def ensure_data_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir

    def open_store(self, spec: str | None = None):
        """The store `spec` names (default: the `store` setting), opened with these settings."""
        from index import open_store
        return open_store(spec if spec is not None else self.store, data_dir=self.data_dir,
                          prefix=self.es_index_prefix, refresh_after_upsert=self.es_refresh_after_upsert,
                          shards=self.es_shards, replicas=self.es_replicas)

    def crawl(self):
        """The values one crawl runs with (crawlers.run.run_crawl)."""
        from crawlers.run import CrawlSettings
        return CrawlSettings(data_dir=self.ensure_data_dir(), sites_dir=self.sites_path,
                             batch_size=self.crawl_batch_size, analyze_process=self.analyze_process,
                             gzip_level=self.evidence_gzip_level, render=self.render(),
                             max_error_rate=self.health_max_error_rate, history_runs=self.health_history_runs,
                             open_store=self.open_store, lock_db=self.scheduler_db)

    def scheduler(self, **overrides):
        from crawlers.scheduler.settings import SchedulerSettings
        data_dir = self.ensure_data_dir().resolve()
        values = dict(data_dir=data_dir, db_url=self.scheduler_db or f"sqlite:///{data_dir / 'scheduler.db'}",
                      misfire_grace=self.scheduler_misfire_grace, shutdown_grace=self.scheduler_shutdown_grace,
                      kill_grace=self.scheduler_kill_grace, crawl_timeout=self.scheduler_crawl_timeout,
                      max_workers=self.scheduler_max_workers, poll=self.scheduler_poll,
                      crawl_command=self.scheduler_crawl_command, max_error_rate=self.health_max_error_rate,
                      history_runs=self.health_history_runs, open_store=self.open_store,
                      sites_dir=self.sites_path, crawl_queue=self.crawl_queue, worker_lease=self.worker_lease)
        return SchedulerSettings(**{**values, **overrides})

    def render(self):
        from crawlers.rendered_screenshots import RenderSettings
        return RenderSettings(enabled=self.evidence_render_screenshots, max_listings=self.evidence_render_max,
                              timeout_s=self.evidence_render_timeout)


def load_settings(**overrides) -> Settings:
    """Read the settings afresh (defaults, operator file, environment, `overrides`); SettingsError when one is bad."""
    defaults = _YamlSource(Settings, str(DEFAULTS), DEFAULTS.read_text(encoding="utf-8"))
    path = _operator_file(overrides.get("config_dir"))
    try:
        text = yamlfile.read_text(path)
    except FileNotFoundError:
        text = None
    except OSError as exc:
        raise SettingsError(path, 0, "", f"cannot read: {exc.strerror}") from None
    operator = _YamlSource(Settings, str(path), text)
    token = _FILES.set((operator, defaults))
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise _first_error(exc, overrides, operator, defaults) from None
    finally:
        _FILES.reset(token)


def _first_error(exc: ValidationError, overrides: dict, *files: _YamlSource) -> SettingsError:
    err = exc.errors(include_url=False)[0]
    name = str(err["loc"][0]) if err["loc"] else ""
    field = ".".join(str(p) for p in err["loc"])
    reason = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        reason = "not a setting (the settings are the keys of interdict/settings.yaml)"
    elif "input" in err and not isinstance(err["input"], (dict, list)) and repr(err["input"]) not in reason:
        reason = f"{err['input']!r}: {reason}"
    env = ENV_PREFIX + name.upper()
    if name in overrides:
        return SettingsError("argument", 0, field, reason)
    if env in {k.upper() for k in os.environ}:
        return SettingsError(f"env {env}", 0, field, reason)
    for source in files:
        if name in source.values or (name in source.lines and err["type"] != "missing"):
            return SettingsError(source.path, source.lines.get(name, 0), field, reason)
    return SettingsError(files[-1].path, 0, field, reason)


_CACHE: dict = {}


def current_settings() -> Settings:
    """The settings as they stand: read again only when an INTERDICT_* variable or the operator's file changed
    (the app reads them per request and per alert; parsing and validating each time would cost more)."""
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.upper().startswith(ENV_PREFIX)))
    path = _operator_file(None)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = None
    key = (env, str(path.resolve()), stamp)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = load_settings()
    return _CACHE[key]
