"""App database throughput: the database side of a login and of an authenticated request, on the embedded
SQLite app.db and on PostgreSQL, against the pre-Alembic raw-sqlite3 code in the same process.

    .venv/bin/python benchmarks/appdb_logins.py [--logins 400] [--threads 8]

A login here is what interdict.web.auth.login asks of the app DB for a right password: reserve the attempt
(two scopes), read the password hash and the user, forgive the scope, create a session. Argon2 is left out: it
costs the same on every backend and would hide the database. A request is session_user (the session row and its
user). PostgreSQL runs when INTERDICT_PG_URL is set (its own throwaway database); prints per-second figures and
ratios against the baseline (the pre-Alembic code on SQLite).
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


def run(db, logins: int, threads: int) -> tuple[float, float]:
    """(logins/s, session lookups/s) with `threads` concurrent callers."""
    db.add_user("bench", "$argon2id$not-checked-here", "investigator", [])

    def login(i: int) -> str:
        pair = f"user-ip:bench|10.0.{i // 250}.{i % 250}"
        attempt, wait = db.reserve_login({pair: 5, f"ip:10.0.{i // 250}.{i % 250}": 20}, 900, 30)
        assert attempt and not wait
        assert db.password_hash("bench") and db.get_user("bench")
        db.login_succeeded(attempt, pair)
        return db.create_session("bench", 1)

    with ThreadPoolExecutor(threads) as pool:
        t0 = time.perf_counter()
        sids = list(pool.map(login, range(logins)))
        login_rate = logins / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        assert all(u is not None for u in pool.map(db.session_user, sids * 2))
        lookup_rate = 2 * logins / (time.perf_counter() - t0)
    db.close()
    return login_rate, lookup_rate


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
    base_login, base_lookup = results["pre-Alembic sqlite3 (baseline)"]
    print(f"{args.logins} logins, then {2 * args.logins} session lookups, {args.threads} threads")
    print(f"{'backend':32} {'logins/s':>9} {'ratio':>6} {'lookups/s':>10} {'ratio':>6}")
    for name, (login_rate, lookup_rate) in results.items():
        print(f"{name:32} {login_rate:9.0f} {login_rate / base_login:6.2f} {lookup_rate:10.0f} "
              f"{lookup_rate / base_lookup:6.2f}")


if __name__ == "__main__":
    main()
