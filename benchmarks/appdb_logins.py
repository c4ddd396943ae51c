"""App database throughput: logins and authenticated requests on the embedded SQLite app.db and on PostgreSQL,
against the pre-Alembic raw-sqlite3 code in the same process.

    .venv/bin/python benchmarks/appdb_logins.py [--logins 400] [--threads 8]

"db logins/s": what interdict.web.auth.login asks of the app DB for a right password (reserve the attempt on two
scopes, read the hash and the user, forgive the scope) plus creating the session, without argon2, which costs
the same on every backend and hides the database. "logins/s": the real auth.login with its argon2 check, on a
quarter as many logins. "lookups/s": session_user, what every authenticated request asks. PostgreSQL runs when
INTERDICT_PG_URL is set (a throwaway database); figures per second and ratios against the baseline.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PASSWORD = "a long benchmark password"


def run(db, logins: int, threads: int) -> tuple[float, float, float]:
    """(db logins/s, logins/s, session lookups/s) with `threads` concurrent callers."""
    from interdict.web.auth import hash_password, login as check_login
    from interdict.web.config import WebSettings
    settings = WebSettings(data_dir=Path(tempfile.mkdtemp()), secret_key="benchmark-secret-key-0123456789")
    db.add_user("bench", hash_password(PASSWORD), "investigator", [])

    def db_login(i: int) -> str:
        pair = f"user-ip:bench|10.0.{i // 250}.{i % 250}"
        attempt, wait = db.reserve_login({pair: 5, f"ip:10.0.{i // 250}.{i % 250}": 20}, 900, 30)
        assert attempt and not wait
        assert db.password_hash("bench") and db.get_user("bench")
        db.login_succeeded(attempt, pair)
        return db.create_session("bench", 1)

    def login(i: int) -> None:
        assert check_login(db, settings, "bench", PASSWORD, f"10.1.{i // 250}.{i % 250}")

    with ThreadPoolExecutor(threads) as pool:
        t0 = time.perf_counter()
        sids = list(pool.map(db_login, range(logins)))
        db_rate = logins / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        list(pool.map(login, range(logins // 4)))
        login_rate = (logins // 4) / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        assert all(u is not None for u in pool.map(db.session_user, sids * 2))
        lookup_rate = 2 * logins / (time.perf_counter() - t0)
    db.close()
    return db_rate, login_rate, lookup_rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--logins", type=int, default=400)
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args()
    from interdict.web.appdb import AppDB
    from tests.appdb_pre_alembic import AppDB as PreAlembicAppDB
    tmp = Path(tempfile.mkdtemp(prefix="interdict-bench-appdb-"))
    results = {"pre-Alembic sqlite3 (baseline)": run(PreAlembicAppDB(tmp / "old" / "app.db"), args.logins,
                                                     args.threads),
               "SQLite app.db": run(AppDB(tmp / "new" / "app.db"), args.logins, args.threads)}
    pg_url = os.environ.get("INTERDICT_PG_URL")
    if pg_url:
        from tests.app_dbs import pg_database
        with pg_database(pg_url) as url:
            results["PostgreSQL"] = run(AppDB(url), args.logins, args.threads)
    else:
        print("PostgreSQL skipped: INTERDICT_PG_URL is not set (make pg-start prints one)")
    base = results["pre-Alembic sqlite3 (baseline)"]
    print(f"{args.logins} db logins, {args.logins // 4} argon2 logins, {2 * args.logins} session lookups, "
          f"{args.threads} threads")
    print(f"{'backend':32}" + "".join(f" {col:>13} {'ratio':>6}" for col in ("db logins/s", "logins/s", "lookups/s")))
    for name, rates in results.items():
        print(f"{name:32}" + "".join(f" {rate:13.1f} {rate / b:6.2f}" for rate, b in zip(rates, base)))


if __name__ == "__main__":
    main()
