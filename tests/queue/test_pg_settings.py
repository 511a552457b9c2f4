"""``[station] name`` / ``database`` / ``PRINTSTATION_DATABASE``, where the password comes from
(URL, PGPASSFILE, systemd credential), that it is never shown, migrations and ``printstation db``,
and that the embedded SQLite station never imports the driver."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from printstation.face import config
from printstation.errors import ConfigError, StoreUnavailable
from printstation.pg import redact_url
from support.pg_server import PASSWORD, pg, pg_url  # noqa: F401 - fixtures

REPO = Path(__file__).resolve().parents[2]
PRINTERS = [{"name": "a", "uri": "dir://./out"}]


def _all_migrations() -> list[str]:
    from printstation.pg import migrations

    return [f"{v:04d}_{n}" for v, n, _ in migrations()]


ALL = _all_migrations()  # 0001_init, 0002_ozon_lamoda, …


def parse(station: dict) -> config.Config:
    return config.parse({"printers": PRINTERS, "station": station})


def test_station_name_and_database_keys(monkeypatch):
    monkeypatch.delenv("PRINTSTATION_DATABASE", raising=False)
    c = parse({})
    assert c.station.database is None and c.station.name  # the host name
    c = parse({"name": "bench-2", "database": "postgresql://ps:s3cret-pw@db.local:5433/wh"})
    assert c.station.name == "bench-2" and c.station.database.startswith("postgresql://")
    assert "s3cret-pw" not in repr(c.station) and "s3cret-pw" not in repr(c)
    monkeypatch.setenv("PRINTSTATION_DATABASE", "postgresql://env@h/db")
    assert parse({"database": "postgresql://file@h/db"}).station.database == "postgresql://env@h/db"
    assert parse({}).station.database == "postgresql://env@h/db"


@pytest.mark.parametrize("station, where", [
    ({"name": "bad name!"}, "station.name"),
    ({"database": "mysql://u:hunter2secret@h/db"}, "station.database"),
    ({"database": "postgresql://u:hunter2secret@h:99999/db"}, "station.database"),
])
def test_bad_station_keys_are_one_line_without_the_password(monkeypatch, station, where):
    monkeypatch.delenv("PRINTSTATION_DATABASE", raising=False)
    with pytest.raises(ConfigError) as e:
        parse(station)
    assert str(e.value).startswith(where) and "hunter2secret" not in str(e.value)


def test_redact_url():
    assert redact_url("postgresql://u:pw@h:5/d?sslmode=require&password=x2") == \
        "postgresql://u:***@h:5/d?sslmode=require&password=***"
    assert redact_url("postgresql://h/d") == "postgresql://h/d"


def test_sqlite_station_never_imports_the_driver(tmp_path):
    code = ("import sys; from printstation.queue.backends import open_store; s = open_store(sys.argv[1]);"
            "from printstation.triggers.station import open_state; from printstation.face import config;"
            "c = config.loads('[station]\\ndata_dir = \"' + sys.argv[1] + '\"\\n[[printers]]\\nname = \"a\"\\n"
            "uri = \"dir://./o\"\\n'); open_state(c, s);"
            "print(sorted(m for m in sys.modules if m.startswith('psycopg')))")
    env = {k: v for k, v in os.environ.items() if k != "PRINTSTATION_DATABASE"}
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "d")], capture_output=True, text=True,
                         env=env, cwd=REPO, check=True).stdout
    assert out.strip() == "[]"


def _no_password(url: str) -> str:
    return url.replace(f":{PASSWORD}@", "@")


def test_password_from_pgpassfile_and_from_a_systemd_credential(pg_url, tmp_path, monkeypatch, caplog):
    from printstation.pg import Database, check

    bare = _no_password(pg_url)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "nope"))
    db = Database(bare, timeout=2)
    try:
        with pytest.raises(StoreUnavailable):
            check(db)
    finally:
        db.close()
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"*:*:*:postgres:{PASSWORD}\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    db = Database(bare)
    try:
        assert check(db)["database"] == bare  # PGPASSFILE: libpq reads it
    finally:
        db.close()
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "database-password").write_text(PASSWORD + "\n")
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "nope"))
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    caplog.set_level(logging.DEBUG)
    db = Database(bare)
    try:
        assert check(db)["latest"] >= 1
    finally:
        db.close()
    assert PASSWORD not in caplog.text


def test_wrong_password_is_a_clear_error_without_it(pg_url):
    from printstation.pg import Database, check

    url = pg_url.replace(PASSWORD, "wrong-" + PASSWORD[::-1])
    db = Database(url, timeout=2)
    try:
        with pytest.raises(StoreUnavailable) as e:
            check(db)
    finally:
        db.close()
    msg = str(e.value)
    assert "password authentication failed" in msg and PASSWORD[::-1] not in msg and ":***@" in msg


def test_db_migrate_and_check_commands(pg_url, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PRINTSTATION_DATABASE"}

    def run(*args: str, **kw: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "printstation", *args], capture_output=True, text=True,
                              env={**env, **kw}, cwd=tmp_path, timeout=60)

    r = run("db", "check", "--database", pg_url)
    assert r.returncode == 1 and "pending: 0001_init" in r.stdout and PASSWORD not in r.stdout + r.stderr
    r = run("db", "migrate", "--json", PRINTSTATION_DATABASE=pg_url)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["applied"] == ALL and PASSWORD not in r.stdout + r.stderr
    r = run("db", "check", PRINTSTATION_DATABASE=pg_url)
    assert r.returncode == 0 and f"schema version {len(ALL)} (latest {len(ALL)}): ok" in r.stdout
    r = run("db", "migrate", "--database", pg_url)
    assert r.returncode == 0 and "up to date" in r.stdout
    r = run("db", "check")
    assert r.returncode == 2 and "no database configured" in r.stderr


def test_migrations_are_applied_once_and_a_newer_database_is_refused(pg_url):
    from printstation.pg import Database, check, migrate
    from printstation.errors import PrintstationError

    db = Database(pg_url)
    try:
        assert migrate(db) == ALL and migrate(db) == []
        with db.connection() as conn:
            conn.execute("INSERT INTO schema_migrations VALUES (999, 'future', 0)")
        assert not check(db)["ok"]
        with pytest.raises(PrintstationError, match="newer than this printstation"):
            migrate(db)
    finally:
        db.close()


def test_a_database_of_an_earlier_version_is_brought_up_to_date(pg_url, monkeypatch):
    """A database left at version 1 (stations of an earlier printstation) gets the later
    migrations, each once, and keeps its data."""
    import printstation.pg as pgmod
    from printstation.pg import Database, check, migrate

    db = Database(pg_url)
    try:
        newest = pgmod.migrations
        monkeypatch.setattr(pgmod, "migrations", lambda: newest()[:1])
        assert migrate(db) == ["0001_init"]
        monkeypatch.setattr(pgmod, "migrations", newest)
        with db.connection() as conn:
            conn.execute("INSERT INTO meta VALUES ('wb_synced', '1')")
        assert check(db)["pending"] == ALL[1:] and not check(db)["ok"]
        assert migrate(db) == ALL[1:] and migrate(db) == [] and check(db)["ok"]
        with db.connection() as conn:
            assert conn.execute("SELECT value FROM meta").fetchall() == [("1",)]
            assert conn.execute("SELECT count(*) FROM ozon_returns").fetchone()[0] == 0
            assert conn.execute("SELECT count(*) FROM webhooks").fetchone()[0] == 0
    finally:
        db.close()


def test_doctor_checks_the_database(pg_url, tmp_path, monkeypatch):
    from printstation.face.doctor import run_checks

    monkeypatch.delenv("PRINTSTATION_DATABASE", raising=False)
    cfg = tmp_path / "ps.toml"
    for url, ok, words in ((pg_url, True, "pending 0001_init"),
                           (pg_url.replace(PASSWORD, "not-it-" + PASSWORD[:4]), False, "password authentication")):
        cfg.write_text(f'[station]\ndata_dir = "{tmp_path / "d"}"\ndatabase = "{url}"\n'
                       f'[[printers]]\nname = "a"\nuri = "dir://{tmp_path / "o"}"\n')
        db = [c for c in run_checks(cfg, timeout=2) if c.name == "database"]
        assert len(db) == 1 and db[0].ok is ok and words in db[0].detail, db
        assert PASSWORD not in db[0].detail and ":***@" in db[0].detail


def test_two_running_stations_with_one_name_are_refused(pg_url, tmp_path):
    from printstation.queue.base import StoreLocked
    from printstation.queue.pgstore import PgJobStore

    a = PgJobStore(tmp_path / "a", pg_url, "bench")
    try:
        with pytest.raises(StoreLocked, match="station name 'bench' is in use by another running station"):
            PgJobStore(tmp_path / "b", pg_url, "bench")
        other = PgJobStore(tmp_path / "c", pg_url, "bench-2")
        other.close()
    finally:
        a.close()
    again = PgJobStore(tmp_path / "b", pg_url, "bench")  # the name is free once that station stopped
    again.close()
