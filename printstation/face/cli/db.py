"""``printstation db migrate`` / ``db check``: the schema of the shared PostgreSQL database.

The database comes from ``--database URL``, else ``$PRINTSTATION_DATABASE``, else
``[station] database`` of ``--config``. ``migrate`` applies the pending migrations (the daemon
also does at start); ``check`` changes nothing and exits 1 when migrations are pending or the
database is newer than this printstation. The password is never printed.
"""

from __future__ import annotations

import argparse
import json

from ...errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("db", help="shared PostgreSQL database: migrate, check",
                       description="The schema of the PostgreSQL database several stations share "
                                   "([station] database or PRINTSTATION_DATABASE).")
    dsub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    for name, helptext in (("migrate", "apply the pending schema migrations"),
                           ("check", "show the schema version; exit 1 when migrations are pending")):
        q = dsub.add_parser(name, help=helptext, description=helptext)
        q.add_argument("--config", metavar="FILE", default=None, help="TOML config file ([station] database)")
        q.add_argument("--database", metavar="URL", default=None, help="postgresql://… (overrides the config)")
        q.add_argument("--json", action="store_true", help="machine-readable output")
        q.set_defaults(func=migrate if name == "migrate" else check)


def _url(args: argparse.Namespace) -> str:
    if args.database:
        return args.database
    from .. import config as configmod

    cfg = configmod.load(args.config)
    if not cfg.station.database:
        raise UsageError("no database configured: set [station] database, PRINTSTATION_DATABASE or --database "
                         "(without one the station uses its embedded SQLite store)")
    return cfg.station.database


def migrate(args: argparse.Namespace) -> int:
    from ... import pg

    db = pg.Database(_url(args), name="printstation db")
    try:
        done = pg.migrate(db)
        state = pg.check(db)
    finally:
        db.close()
    if args.json:
        print(json.dumps({**state, "applied": done}))
    else:
        print(f"{state['database']}: " + (f"applied {', '.join(done)}; " if done else "up to date; ")
              + f"schema version {state['version']}")
    return 0


def check(args: argparse.Namespace) -> int:
    from ... import pg

    db = pg.Database(_url(args), name="printstation db")
    try:
        state = pg.check(db)
    finally:
        db.close()
    if args.json:
        print(json.dumps(state))
    elif state["ok"]:
        print(f"{state['database']}: schema version {state['version']} (latest {state['latest']}): ok")
    else:
        why = (f"pending: {', '.join(state['pending'])} (run `printstation db migrate`)" if state["pending"]
               else "newer than this printstation: upgrade printstation")
        print(f"{state['database']}: schema version {state['version']} (latest {state['latest']}): {why}")
    return 0 if state["ok"] else 1
