"""The crawl scheduler: an APScheduler 3.x service that runs crawls on time, never twice at once, and
survives restarts.

    settings.py  SchedulerSettings (job-store URL, grace times, timeouts, crawl command), from interdict.settings
    specs.py     a schedule (cron | interval, jitter, timezone) -> validated spec -> APScheduler trigger
    locks.py     one file lock per site under the data dir: "never twice at once" across processes
    pglocks.py   the same as PostgreSQL advisory locks, and slot claims, for schedulers on several hosts
    health.py    Spidermon-style monitors: one small function per check, run after every crawl
    runner.py    one crawl = one subprocess with a hard timeout, bracketed by its CrawlRun record
    process.py   the crawl child: own process group, dies with the scheduler, stopped as a group
    results.py   what a crawl left (JSON summary, store record, manifest, log tail) merged into its record
    stale.py     `running` records of dead crawl processes (kill -9, crash) closed as `aborted`
    jobs.py      the job store, the executor and syncing jobs from the site configs
    service.py   `interdict scheduler run`: start, recover, wake up, drain on SIGTERM
    manage.py    the operations the CLI and the web API share (list/add/pause/resume/remove/run-now, runs)

Why subprocesses: Twisted's reactor cannot be restarted inside one process, and a crawl that hangs or
leaks must not take the scheduler down with it.
"""
