"""rexctl's nginx: rendered with the stack's ports and paths, started only when it can serve."""

import re
from pathlib import Path

import pytest
from rexctl import stack as stack_mod
from rexctl.stack import Ports, Stack, render_nginx


def a_stack(tmp_path: Path, with_index: bool = True) -> Stack:
    dist = tmp_path / "dist"
    dist.mkdir(parents=True)
    if with_index:
        (dist / "index.html").write_text("<!doctype html>")
    ports = Ports(evaluator=9101, ledger=9102, budget=9103, notifier=9104, web=9100)
    return Stack(home=tmp_path / "home", ports=ports, with_web=True, web_dist=dist)


def routes(conf: str) -> dict[str, str]:
    """location pattern -> upstream it proxies to."""
    found = re.findall(r"location ~ (\S+)\s+\{\s*proxy_pass http://(\w+);", conf)
    return dict(found)


def test_the_config_routes_each_api_to_its_service_like_the_ingress(tmp_path: Path) -> None:
    stack = a_stack(tmp_path)
    conf_path = tmp_path / "nginx.conf"
    render_nginx(stack, conf_path)
    conf = conf_path.read_text()
    assert "{{" not in conf and "listen 127.0.0.1:9100;" in conf
    assert f"root {(tmp_path / 'dist').resolve()};" in conf
    assert routes(conf) == {
        "^/api/v1/evaluations/[^/]+/events$": "evaluator",
        "^/api/v1/(evaluations|datasets|provider-keys)(/|$)": "evaluator",
        "^/api/v1/costs(/|$)": "ledger",
        "^/api/v1/budgets(/|$)": "budget",
        "^/api/v1/notifications(/|$)": "notifier",
    }
    for name, port in (("evaluator", 9101), ("ledger", 9102), ("budget", 9103), ("notifier", 9104)):
        assert f"upstream {name:<9} {{ server 127.0.0.1:{port};" in conf


def test_server_sent_events_are_not_buffered(tmp_path: Path) -> None:
    stack = a_stack(tmp_path)
    render_nginx(stack, tmp_path / "nginx.conf")
    conf = (tmp_path / "nginx.conf").read_text()
    events = conf.split("location ~ ^/api/v1/evaluations/[^/]+/events$ {", 1)[1].split("}", 1)[0]
    assert "proxy_buffering off;" in events and "proxy_read_timeout 1h;" in events


def test_pid_temp_files_and_logs_live_under_rex_home(tmp_path: Path) -> None:
    stack = a_stack(tmp_path)
    render_nginx(stack, tmp_path / "nginx.conf")
    conf = (tmp_path / "nginx.conf").read_text()
    home = str(stack.home.resolve())
    found = re.findall(r"^\s*(?:pid|error_log|access_log|\w+_temp_path) (\S+?)[ ;]", conf, re.M)
    paths = [p for p in found if p != "off"]
    assert len(paths) == 8 and all(p.startswith(home) for p in paths), paths


def test_nginx_is_part_of_the_stack_only_with_a_build_and_a_binary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stack_mod, "nginx_binary", lambda: "/usr/sbin/nginx")
    (web,) = [p for p in a_stack(tmp_path / "a").processes() if p.name == "web"]
    assert web.port == 9100 and web.health == "http://127.0.0.1:9100/nginx-health"
    assert web.argv[:2] == ["/usr/sbin/nginx", "-p"]
    assert "web" not in [p.name for p in a_stack(tmp_path / "b", with_index=False).processes()]
    unasked = a_stack(tmp_path / "c")
    unasked.with_web = False  # other stacks (tests, benchmarks) keep to the services
    assert "web" not in [p.name for p in unasked.processes()]
    monkeypatch.setattr(stack_mod, "nginx_binary", lambda: None)
    assert "web" not in [p.name for p in a_stack(tmp_path / "d").processes()]
