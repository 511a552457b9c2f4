"""[markets.*] config parsing and where tokens come from."""

from __future__ import annotations

import pytest

from printstation.errors import AuthError, ConfigError
from printstation.markets.settings import (MarketsSettings, load_config, parse_markets,
                                           resolve_credentials, wb_client)


def test_defaults_and_full_tables(tmp_path):
    s = parse_markets({})
    assert s == MarketsSettings()
    assert (s.wb.rate_per_min, s.wb.burst, s.wb.auth_scheme) == (300, 20, "raw")
    (tmp_path / "wb.tok").write_text("a-wb-token-1234567890")
    s = parse_markets({"wb": {"base_url": "http://127.0.0.1:9/", "token_file": "wb.tok", "auth_scheme": "bearer",
                              "rate_per_min": 150, "burst": 10, "timeout": 5, "retries": 0},
                       "ali": {"base_url": "https://openapi.ru.laliexpress.com", "rate_per_min": 30.5,
                               "burst": 2, "max_pdf_mb": 5}}, base_dir=tmp_path)
    assert s.wb.base_url == "http://127.0.0.1:9" and s.wb.token_file == tmp_path / "wb.tok"
    assert (s.wb.auth_scheme, s.wb.rate_per_min, s.wb.burst, s.wb.timeout, s.wb.retries) == ("bearer", 150, 10, 5, 0)
    assert (s.ali.rate_per_min, s.ali.burst, s.ali.max_pdf_mb) == (30.5, 2, 5)


@pytest.mark.parametrize("table,where", [
    ({"wb": {"token": "abc"}}, "markets.wb.token"),
    ({"ali": {"token": "abc"}}, "markets.ali.token"),
    ({"wb": {"colour": 1}}, "markets.wb.colour"),
    ({"yandex": {}}, "markets.yandex"),
    ({"wb": {"auth_scheme": "basic"}}, "markets.wb.auth_scheme"),
    ({"wb": {"rate_per_min": 0}}, "markets.wb.rate_per_min"),
    ({"wb": {"rate_per_min": "fast"}}, "markets.wb.rate_per_min"),
    ({"wb": {"burst": 2.5}}, "markets.wb.burst"),
    ({"wb": {"burst": True}}, "markets.wb.burst"),
    ({"wb": {"timeout": -1}}, "markets.wb.timeout"),
    ({"wb": {"retries": -1}}, "markets.wb.retries"),
    ({"wb": {"base_url": "ftp://x"}}, "markets.wb.base_url"),
    ({"wb": {"base_url": "https://u:p@host"}}, "markets.wb.base_url"),
    ({"ali": {"auth_scheme": "raw"}}, "markets.ali.auth_scheme"),
    ({"wb": "yes"}, "markets.wb"),
])
def test_bad_config_names_the_key(table, where):
    with pytest.raises(ConfigError) as ei:
        parse_markets(table)
    assert str(ei.value).startswith(where + ":")
    assert ei.value.exit_code == 2


def test_token_in_config_points_to_the_alternatives():
    with pytest.raises(ConfigError, match="token_file.*PRINTSTATION_WB_TOKEN.*CREDENTIALS_DIRECTORY/wb-token"):
        parse_markets({"wb": {"token": "abc"}})


def test_custom_path_prefix():
    with pytest.raises(ConfigError, match=r"^station\.markets\.wb\.x:"):
        parse_markets({"wb": {"x": 1}}, path="station.markets")


def test_token_sources_in_order(tmp_path):
    f = tmp_path / "wb.tok"
    f.write_text("Bearer file-token-123\n")
    cred = tmp_path / "creds"
    cred.mkdir()
    (cred / "wb-token").write_text("cred-token-123")
    (cred / "ali-token").write_text("ali-cred-token")
    env = {"PRINTSTATION_WB_TOKEN": "env-token-123", "CREDENTIALS_DIRECTORY": str(cred),
           "PRINTSTATION_WB_URL": "http://127.0.0.1:1"}
    s = parse_markets({"wb": {"token_file": str(f)}})
    c = resolve_credentials("wb", s, env)
    assert c.token.reveal() == "file-token-123" and c.source.startswith("token_file")
    assert c.base_url == "http://127.0.0.1:1"
    c = resolve_credentials("wb", MarketsSettings(), env)
    assert c.token.reveal() == "env-token-123" and c.source == "env PRINTSTATION_WB_TOKEN"
    del env["PRINTSTATION_WB_TOKEN"]
    c = resolve_credentials("wb", None, env)
    assert c.token.reveal() == "cred-token-123" and c.source == "credential wb-token"
    c = resolve_credentials("ali", None, env)
    assert c.token.reveal() == "ali-cred-token" and c.base_url == "https://openapi.ru.laliexpress.com"
    # config base_url wins over env
    c = resolve_credentials("wb", parse_markets({"wb": {"base_url": "http://h:2"}}), env)
    assert c.base_url == "http://h:2"
    assert "cred-token" not in repr(c)


def test_no_token_is_an_auth_error(tmp_path):
    with pytest.raises(AuthError) as ei:
        resolve_credentials("wb", None, {})
    assert ei.value.exit_code == 4 and "PRINTSTATION_WB_TOKEN" in str(ei.value)
    empty = tmp_path / "t"
    empty.write_text("  \n")
    with pytest.raises(AuthError, match="empty"):
        resolve_credentials("ali", parse_markets({"ali": {"token_file": str(empty)}}), {})
    with pytest.raises(AuthError, match="does not exist"):
        resolve_credentials("ali", parse_markets({"ali": {"token_file": str(tmp_path / "nope")}}), {})
    with pytest.raises(AuthError):
        wb_client(MarketsSettings(), {})


def test_load_config_reads_markets_and_data_dir(tmp_path):
    cfg = tmp_path / "ps.toml"
    (tmp_path / "wb.tok").write_text("a-wb-token-1234567890")
    cfg.write_text('[station]\ndata_dir = "state"\n[markets.wb]\ntoken_file = "wb.tok"\nburst = 10\n'
                   '[[printers]]\nname = "x"\n')
    s, data_dir = load_config(cfg)
    assert data_dir == tmp_path / "state" and s.wb.burst == 10 and s.wb.token_file == tmp_path / "wb.tok"
    cfg.write_text("[markets.wb\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(cfg)
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "missing.toml")
