"""The schedule and run operations the CLI (`interdict schedule|runs`) and the web API share.

They act on the persistent job store directly (through a paused scheduler), so they work whether or not
the service is running; a running service picks the changes up at its next wake-up (`scheduler_poll`).
`run_now` runs the crawl in the calling process through the same runner and the same per-site lock as the
service, so a manual run during a scheduled one is recorded `skipped-overlap` instead of overlapping it.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from crawlers.scheduler import jobs
from crawlers.scheduler.results import tail_lines
from crawlers.scheduler.runner import CrawlRunner
from crawlers.scheduler.service import service_lock
from crawlers.scheduler.settings import SchedulerSettings
from crawlers.scheduler.specs import ScheduleSpecError, make_spec, spec_from_schedule
from index.models import RUN_STATUSES, CrawlRun


class ManageError(Exception):
    """A refused operation; `kind` maps to an exit code / HTTP status (invalid 422, not_found 404,
    conflict 409)."""

    def __init__(self, message: str, kind: str = "invalid", field: str | None = None):
        self.kind, self.field = kind, field
        super().__init__(message)


class ScheduleManager:
    def __init__(self, settings: SchedulerSettings, store_spec: str | None = None):
        self.settings = settings
        self.store_spec = store_spec
        self.runner = CrawlRunner(self.settings, store_spec)

    # ------------------------------------------------------------------ helpers
    @contextlib.contextmanager
    def _scheduler(self):
        scheduler = jobs.make_scheduler(self.settings)
        try:
            scheduler.start(paused=True)
        except Exception as exc:
            raise ManageError(f"cannot open the job store {jobs.safe_url(self.settings.db_url)}: "
                              f"{str(exc).splitlines()[0]}", "unavailable") from None
        try:
            yield scheduler
        finally:
            scheduler.shutdown(wait=False)

    def _sites(self):
        from crawlers.siteconfig import load_sites
        return load_sites(self.settings.sites_dir)

    def _known_site(self, site_id: str):
        """The site's config, or a clear error: unknown id (with the known ones) or a broken file."""
        sites, errors = self._sites()
        if site_id in sites:
            return sites[site_id]
        broken = [str(e) for e in errors if _stem(e.file) == site_id]
        if broken:
            raise ManageError(f"site {site_id!r} has an invalid config: " + "; ".join(broken), "invalid", "site_id")
        known = ", ".join(sorted(sites)) or "none"
        raise ManageError(f"unknown site {site_id!r}: no config/sites/{site_id}.yaml in {self.settings.sites_dir} "
                          f"(known: {known})", "not_found", "site_id")

    def _job_or_config(self, scheduler, site_id: str):
        """The site's job; a schedule declared in its YAML but not yet synced is added first."""
        job = scheduler.get_job(site_id)
        if job is not None:
            return job
        site = self._known_site(site_id)
        if site.schedule is not None and site.schedule.enabled and site.enabled:
            return jobs.put_job(scheduler, site_id, spec_from_schedule(site.schedule), "config")
        scheduled = ", ".join(sorted(j.id for j in scheduler.get_jobs())) or "none"
        raise ManageError(f"site {site_id!r} has no schedule (scheduled: {scheduled}); "
                          "add one with `interdict schedule add`", "not_found", "site_id")

    # ------------------------------------------------------------------ schedules
    def service_status(self) -> dict:
        lock = service_lock(self.settings)
        held = lock.is_held()
        info = lock.holder() if held else {}
        return {"running": held, "pid": info.get("pid"), "host": info.get("host"), "since": info.get("since"),
                "job_store": jobs.safe_url(self.settings.db_url)}

    def list(self) -> dict:
        sites, errors = self._sites()
        declared = jobs.desired_specs(sites)
        with self._scheduler() as scheduler:
            infos = [jobs.job_info(j) for j in scheduler.get_jobs()]
        last = self._last_runs([i["site_id"] for i in infos] + list(declared))
        rows = []
        for info in infos:
            sid = info["site_id"]
            info["config_schedule"] = declared.get(sid)
            info["last_run"] = last.get(sid)
            rows.append(info)
        in_store = {r["site_id"] for r in rows}
        for sid, spec in sorted(declared.items()):
            if sid not in in_store:   # declared in YAML, not yet synced by the service
                from crawlers.scheduler.specs import describe
                rows.append({"site_id": sid, "source": "config", "schedule": describe(spec), "spec": spec,
                             "paused": False, "next_run_time": None, "pending_sync": True,
                             "config_schedule": spec, "last_run": last.get(sid)})
        return {"service": self.service_status(), "schedules": sorted(rows, key=lambda r: r["site_id"]),
                "config_errors": [e.as_dict() | {"message": str(e)} for e in errors]}

    def _last_runs(self, site_ids: list[str]) -> dict[str, dict]:
        out = {}
        with self.runner.open_store() as store:
            for sid in set(site_ids):
                runs = store.list_runs(sid, limit=1)
                if runs:
                    r = runs[0]
                    out[sid] = {"run_id": r.id, "status": r.status, "started_at": r.started_at.isoformat(),
                                "reason": r.reason}
        return out

    def add(self, site_id: str, cron: str | None = None, interval: Any = None, jitter: int | None = 0,
            timezone: str | None = "UTC", timeout: Any = None) -> dict:
        """A run-time schedule for a known site; it overrides the YAML's until removed."""
        from crawlers.siteconfig import parse_duration
        self._known_site(site_id)
        try:
            spec = make_spec(cron=cron, interval=interval, jitter=jitter, timezone=timezone)
        except ScheduleSpecError as exc:
            raise ManageError(exc.reason if exc.field else str(exc), "invalid", exc.field or "schedule") from None
        try:
            timeout_s = parse_duration(timeout) if timeout not in (None, "") else None
        except ValueError as exc:
            raise ManageError(str(exc), "invalid", "timeout") from None
        with self._scheduler() as scheduler:
            return jobs.job_info(jobs.put_job(scheduler, site_id, spec, "runtime", timeout_s))

    def pause(self, site_id: str) -> dict:
        with self._scheduler() as scheduler:
            self._job_or_config(scheduler, site_id)
            return jobs.job_info(scheduler.pause_job(site_id))

    def resume(self, site_id: str) -> dict:
        """Resume from now on: slots that passed while paused are not run."""
        with self._scheduler() as scheduler:
            self._job_or_config(scheduler, site_id)
            return jobs.job_info(scheduler.resume_job(site_id))

    def remove(self, site_id: str) -> dict:
        """Remove a run-time schedule (the YAML's, if any, applies again). A YAML schedule is not removed
        here: it would come back at the next start; pause it or delete the `schedule` block."""
        with self._scheduler() as scheduler:
            job = scheduler.get_job(site_id)
            sites, _ = self._sites()
            site = sites.get(site_id)
            declared = jobs.desired_specs(sites).get(site_id)
            if job is None:
                if declared:
                    raise ManageError(_declared_msg(site_id, site), "conflict", "site_id")
                raise ManageError(f"site {site_id!r} has no schedule", "not_found", "site_id")
            if job.kwargs.get("source") != "runtime" and declared:
                raise ManageError(_declared_msg(site_id, site), "conflict", "site_id")
            paused = job.next_run_time is None
            scheduler.remove_job(site_id)
            result = {"site_id": site_id, "removed": job.kwargs.get("source", "config"), "reverted_to": None}
            if declared:
                restored = jobs.put_job(scheduler, site_id, declared, "config", keep_paused=False)
                if paused:
                    restored = scheduler.pause_job(site_id)
                result["reverted_to"] = jobs.job_info(restored)
            return result

    def run_now(self, site_id: str, wait: bool = True, timeout: Any = None,
                requested_by: str | None = None) -> CrawlRun:
        """Run the site's crawl now (trigger `manual`): to its end if `wait`, else in a background thread
        (the `running` record is returned at once). Never overlaps a run of the same site."""
        from crawlers.siteconfig import parse_duration
        self._known_site(site_id)
        try:
            timeout_s = parse_duration(timeout) if timeout not in (None, "") else None
        except ValueError as exc:
            raise ManageError(str(exc), "invalid", "timeout") from None
        if wait:
            return self.runner.run(site_id, "manual", timeout=timeout_s, requested_by=requested_by)
        return self.runner.start(site_id, "manual", timeout=timeout_s, requested_by=requested_by)

    # ------------------------------------------------------------------ runs
    def runs(self, site_id: str | None = None, status: str | None = None, limit: int = 50) -> list[CrawlRun]:
        if status is not None and status not in RUN_STATUSES:
            raise ManageError(f"unknown status {status!r} (one of {', '.join(RUN_STATUSES)})", "invalid", "status")
        self.runner.sweep_stale([site_id] if site_id else None)   # a killed crawl is listed aborted, not running
        with self.runner.open_store() as store:
            runs = store.list_runs(site_id, limit=limit if status is None else max(limit * 10, 500))
        if status is not None:
            runs = [r for r in runs if r.status == status][:limit]
        return runs

    def run(self, run_id: str, log_lines: int = 20) -> dict:
        with self.runner.open_store() as store:
            run = store.get_run(run_id)
        if run is None:
            raise ManageError(f"no run {run_id!r}", "not_found", "run_id")
        if run.status == "running" and (closed := [r for r in self.runner.sweep_stale([run.site_id])
                                                    if r.id == run.id]):
            run = closed[0]
        data = run.model_dump(mode="json")
        # The crawl writes its own final record just before it exits; the run is settled (health verdict,
        # trigger, status) only once its runner has let go of the site's lock.
        lock = self.runner.lock_for(run.site_id) if _safe_id(run.site_id) else None
        data["active"] = bool(lock and lock.is_held() and lock.holder().get("run_id") == run.id)
        log_path = self.runner.settings.state_dir / "runs" / f"{run.id}.log" if _safe_id(run.id) else None
        crawl_log = Path(run.manifest).with_name("crawl.log") if run.manifest else None
        data["log"] = str(log_path) if log_path and log_path.is_file() else None
        data["crawl_log"] = str(crawl_log) if crawl_log and crawl_log.is_file() else None
        data["log_tail"] = tail_lines(Path(data["crawl_log"] or data["log"]) if (data["crawl_log"] or data["log"])
                                      else None, log_lines)
        return data


def _stem(file: str) -> str:
    return Path(file).stem


def _safe_id(run_id: str) -> bool:
    """Run ids name files under the data dir: never a path."""
    return bool(run_id) and "/" not in run_id and "\\" not in run_id and not run_id.startswith(".")


def _declared_msg(site_id: str, site) -> str:
    where = getattr(site, "source_file", None) or f"config/sites/{site_id}.yaml"
    return (f"the schedule of {site_id!r} is declared in {where}; pause it (`interdict schedule pause "
            f"{site_id}`) or delete its `schedule` block")
