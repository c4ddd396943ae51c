"""Web settings: the web_* values of interdict.settings, checked against the declared tenants at start-up.

The secret key comes from INTERDICT_SECRET_KEY. Without it (development), one is generated once and kept in
<data_dir>/web/secret_key with mode 0600: never in the repository.
"""
from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from interdict.settings import current_settings


def load_secret_key(web_dir: Path) -> str:
    env = os.environ.get("INTERDICT_SECRET_KEY")
    if env:
        if len(env) < 16:
            raise ValueError("INTERDICT_SECRET_KEY must be at least 16 characters")
        return env
    path = web_dir / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    web_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key)
    return key


def _setting(name: str):
    """A field whose default is the setting `name` as it stands: one source of truth (interdict/settings.yaml)."""
    return field(default_factory=lambda: getattr(current_settings(), name))


@dataclass
class WebSettings:
    data_dir: Path
    secret_key: str = ""
    # "auto": Secure cookies when the request came over https (directly, or X-Forwarded-Proto from a trusted proxy).
    secure_cookies: str = _setting("web_secure_cookies")
    trusted_proxies: list[str] = _setting("web_trusted_proxies")   # IPs / CIDRs whose X-Forwarded-Proto we believe
    session_hours: float = _setting("web_session_hours")
    lease_seconds: int = _setting("web_lease_seconds")
    login_max_failures: int = _setting("web_login_max_failures")          # per (username, client address)
    login_max_failures_ip: int = _setting("web_login_max_failures_ip")    # per client address
    login_window_seconds: int = _setting("web_login_window_seconds")      # also the longest lockout
    login_backoff_seconds: float = _setting("web_login_backoff_seconds")  # first lockout, doubling after
    notifier_name: str = _setting("notifier_name")
    notifier_email: str = _setting("notifier_email")
    page_size: int = 50
    # tenant -> the legal basis `c` confirms with (setting `web_legal_basis_defaults`)
    legal_basis_defaults: dict[str, str] = _setting("web_legal_basis_defaults")
    # the app database shared by several web servers (postgresql+psycopg://…); empty: <data_dir>/web/app.db
    app_db_url: str = _setting("app_db_url")

    @property
    def web_dir(self) -> Path:
        return self.data_dir / "web"

    @property
    def app_db(self) -> str | Path:
        """What AppDB opens: INTERDICT_APP_DB_URL, or the embedded SQLite file."""
        return self.app_db_url or self.web_dir / "app.db"

    def __post_init__(self):
        self.data_dir = Path(self.data_dir)
        if not self.secret_key:
            self.secret_key = load_secret_key(self.web_dir)
        self._nets = []
        for item in self.trusted_proxies:
            try:
                self._nets.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError as exc:
                raise ValueError(f"web_trusted_proxies: {item!r} is not an IP address or network") from exc
        self.trusted_proxies = list(self.trusted_proxies)
        self.legal_basis_defaults = check_legal_basis_defaults(dict(self.legal_basis_defaults))

    def is_trusted_proxy(self, host: str | None) -> bool:
        if not host or not self._nets:
            return False
        try:
            addr = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(addr in net for net in self._nets)

    @classmethod
    def from_env(cls, data_dir: Path | None = None, **overrides) -> "WebSettings":
        """From the settings as they stand (interdict.settings: defaults, operator file, INTERDICT_*)."""
        return cls(data_dir=Path(data_dir) if data_dir else current_settings().ensure_data_dir(), **overrides)

    def cookie_secure(self, scheme: str, client_host: str | None, forwarded_proto: str | None) -> bool:
        mode = self.secure_cookies
        if mode in ("true", "1", "yes", "always"):
            return True
        if mode in ("false", "0", "no", "never"):
            return False
        if scheme == "https":
            return True
        return bool(forwarded_proto and forwarded_proto.split(",")[0].strip().lower() == "https"
                    and self.is_trusted_proxy(client_host))


def check_legal_basis_defaults(value) -> dict[str, str]:
    """tenant -> default legal basis; ValueError naming the setting and the bad entry (undeclared tenant,
    empty or overlong basis), so a typo fails at start-up instead of confirming with nothing."""
    from interdict.web.tenants import check_tenants
    where = "settings.yaml: web_legal_basis_defaults"
    if not isinstance(value, dict):
        raise ValueError(f"{where}: expected a mapping tenant: legal basis, got {type(value).__name__}")
    out = {}
    for tenant, basis in value.items():
        if not isinstance(basis, str) or not basis.strip() or len(basis) > 4000:
            raise ValueError(f"{where}.{tenant}: the legal basis must be a non-empty string of at most 4000 characters")
        try:
            check_tenants([str(tenant)])
        except ValueError as exc:
            raise ValueError(f"{where}.{exc}") from None
        out[str(tenant).strip()] = basis.strip()
    return out
