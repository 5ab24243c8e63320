"""marina-ops: run log summary, notifications, job wrapper and connection check.

  marina-ops report [--all] [--no-notify]
  marina-ops notify --status failure|warning|success --job J [--message M]
  marina-ops run JOB [MELTANO_RUN_OPTIONS...]
  marina-ops build-if-new [DBT_BUILD_ARGS...]
  marina-ops check [--from-env] [--no-dbt] [--debug]

Settings come from the environment (Meltano passes .env and the plugin's env); see README.md.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import jobs
from .check import print_results, run_checks
from .notify import settings_from_env


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="marina-ops", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("report", help="summary of the latest run from DW_ETL_RUN_LOG; exit 1 on a failed model")
    r.add_argument("--all", action="store_true", help="list every table, not only those with changes")
    r.add_argument("--no-notify", action="store_true", help="print only")
    r.add_argument("--job", default="report", help="job name in the notification")
    n = sub.add_parser("notify", help="send a notification (e.g. from Airflow's on_failure_callback)")
    n.add_argument("--status", required=True, choices=["failure", "warning", "success"])
    n.add_argument("--job", required=True)
    n.add_argument("--message", default="")
    j = sub.add_parser(
        "run", help="meltano run JOB; notify on failure, report on success; other arguments go to `meltano run`"
    )
    j.add_argument("job")
    sub.add_parser(
        "build-if-new",
        help="dbt build only when a load finished after the last dbt run; other arguments go to `dbt build`",
    )
    c = sub.add_parser("check", help="are the exports, the warehouse and dbt reachable?")
    c.add_argument(
        "--from-env", action="store_true", help="read the tap/loader settings from env vars instead of `meltano config`"
    )
    c.add_argument("--no-dbt", action="store_true", help="skip `dbt debug`")
    c.add_argument("--debug", action="store_true", help="print the traceback of an unexpected error")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    extra = [a for a in extra if a != "--"]
    if extra and args.command not in ("run", "build-if-new"):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    env = dict(os.environ)
    if args.command != "check":
        try:
            settings_from_env(env)  # a notification misconfiguration fails now, not after the job
        except ValueError as exc:
            print(f"marina-ops: notification settings: {exc}", file=sys.stderr)
            return 2
    if args.command == "report":
        return jobs.report(env, job=args.job, all_tables=args.all, send_notification=not args.no_notify)
    if args.command == "notify":
        errors = jobs.notify(env, args.status, args.job, args.message or f"{args.job}: {args.status}")
        return 1 if errors else 0
    if args.command == "run":
        return jobs.run_job(args.job, extra, env)
    if args.command == "build-if-new":
        return jobs.build_if_new(extra, env)
    return print_results(run_checks(env, use_meltano=not args.from_env, with_dbt=not args.no_dbt, debug=args.debug))


if __name__ == "__main__":
    sys.exit(main())
