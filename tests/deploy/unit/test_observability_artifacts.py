"""The dashboard and the alert rules are valid, and query only metrics the services export."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
DASHBOARD = REPO / "deploy" / "grafana" / "cost-observability.json"
RULES = sorted((REPO / "deploy" / "prometheus" / "rules").glob("*.yml"))
PACKAGES = ["rex_shared", "evaluator", "cost_ledger", "budget", "notifier"]
# Labels Prometheus adds at scrape time (job, instance; `service` from prometheus.yml) or that
# the exposition format adds (le on histogram buckets).
SCRAPE_LABELS = {"job", "instance", "service", "le"}
# The first use may build obscheck from its Go module (about a minute).
pytestmark = pytest.mark.timeout(900)

# Run in a fresh interpreter: import every module of every service, then read what the
# default registry holds. Names are the series names a query can select.
_EXPORTED = """
import importlib, json, pkgutil, sys
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase
for name in sys.argv[1:]:
    package = importlib.import_module(name)
    for info in pkgutil.walk_packages(package.__path__, name + "."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
SUFFIXES = {"counter": ["_total"], "gauge": [""], "histogram": ["_bucket", "_count", "_sum"],
            "summary": ["", "_count", "_sum"], "info": ["_info"], "enum": [""]}
out = {}
for collector in list(REGISTRY._collector_to_names):  # private, but the only full listing
    if isinstance(collector, MetricWrapperBase):
        for suffix in SUFFIXES[collector._type]:
            out[collector._name + suffix] = {"family": collector._name,
                                             "labels": list(collector._labelnames)}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def exported() -> dict[str, dict[str, Any]]:
    """Series name -> its metric family and label names, over every REX service."""
    done = subprocess.run(
        [sys.executable, "-c", _EXPORTED, *PACKAGES],
        check=True, capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    return dict(json.loads(done.stdout))


@pytest.fixture(scope="session")
def obscheck() -> str:
    """deploy/tools/obscheck, built once into .rex/bin by its install script."""
    script = REPO / "deploy" / "tools" / "install-obscheck.sh"
    done = subprocess.run(
        ["bash", str(script)], check=True, capture_output=True, text=True, timeout=800
    )
    return done.stdout.strip().splitlines()[-1]


def run_obscheck(obscheck: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [obscheck, *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def queries(obscheck: str, *args: str | Path) -> list[dict[str, Any]]:
    done = run_obscheck(obscheck, *args)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def unknown_names(found: list[dict[str, Any]], exported: dict[str, dict[str, Any]]) -> list[str]:
    """Every metric, selector label or grouping label a query uses that nothing exports."""
    problems = []
    for query in found:
        labels = set(SCRAPE_LABELS)
        for selector in query["selectors"]:
            metric = exported.get(selector["metric"])
            if metric is None:
                problems.append(f"{query['where']}: metric {selector['metric']} is not exported")
                continue
            labels |= set(metric["labels"])
            for label in set(selector["labels"]) - SCRAPE_LABELS - set(metric["labels"]):
                problems.append(f"{query['where']}: {selector['metric']} has no label {label}")
        for label in set(query["grouping"]) - labels:
            problems.append(f"{query['where']}: no selected metric has the label {label}")
    return problems


def test_the_dashboard_is_a_valid_grafana_dashboard_model(obscheck: str) -> None:
    found = queries(obscheck, "dashboard", DASHBOARD)
    panels = [p for p in json.loads(DASHBOARD.read_text())["panels"] if p["type"] != "row"]
    assert len({q["where"] for q in found}) == len(panels)  # every panel queries something


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda d: d["panels"][1].update(colour="red"), "unexpected field 'colour'"),
        (lambda d: d["panels"][1]["gridPos"].update(w="wide"), "gridPos"),
        (lambda d: d["panels"][1]["options"].pop("reduceOptions"), "reduceOptions"),
        (lambda d: d.pop("schemaVersion"), "schemaVersion"),
        (lambda d: d["panels"][1]["targets"][0].update(expr="sum(rate(x[5m])"), "PromQL"),
    ],
    ids=["unknown field", "wrong type", "missing option", "no schema version", "bad PromQL"],
)
def test_the_dashboard_check_rejects_a_broken_dashboard(
    obscheck: str, tmp_path: Path, change: Any, complaint: str
) -> None:
    broken = json.loads(DASHBOARD.read_text())
    change(broken)
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    done = run_obscheck(obscheck, "dashboard", tmp_path / "broken.json")
    assert done.returncode == 1
    assert complaint in done.stderr


def test_every_dashboard_query_names_metrics_and_labels_the_services_export(
    obscheck: str, exported: dict[str, dict[str, Any]]
) -> None:
    problems = unknown_names(queries(obscheck, "dashboard", DASHBOARD), exported)
    assert not problems, "\n".join(problems)


def test_every_alert_rule_parses_and_names_exported_metrics(
    obscheck: str, exported: dict[str, dict[str, Any]]
) -> None:
    found = queries(obscheck, "rules", *RULES)
    assert found
    problems = unknown_names([q for q in found if q["selectors"][0]["metric"] != "up"], exported)
    assert not problems, "\n".join(problems)


def test_the_metric_check_catches_a_metric_nobody_exports(
    exported: dict[str, dict[str, Any]],
) -> None:
    made_up = [
        {"where": "x", "grouping": [], "selectors": [{"metric": "rex_made_up", "labels": []}]},
        {
            "where": "y",
            "grouping": ["colour"],
            "selectors": [{"metric": "rex_events_consumed_total", "labels": ["shade"]}],
        },
    ]
    assert len(unknown_names(made_up, exported)) == 3


def test_each_runbook_link_points_at_a_section_of_the_operations_guide() -> None:
    guide = (REPO / "docs" / "operations.md").read_text()
    anchors = {_anchor(line) for line in guide.splitlines() if line.startswith("#")}
    for path in RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                runbook = rule.get("annotations", {}).get("runbook")
                if runbook:
                    assert runbook.split("#")[1] in anchors, (rule["alert"], runbook)


def _anchor(heading: str) -> str:
    text = heading.lstrip("#").strip().lower()
    return "".join(c for c in text.replace(" ", "-") if c.isalnum() or c == "-")


def test_grafana_is_provisioned_with_the_dashboard_and_its_datasource() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["grafana"]
    mounts = dict(v.split(":")[:2] for v in compose["volumes"])
    provisioning = REPO / "deploy" / "grafana" / "provisioning"
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "rex.yml").read_text())["providers"]
    assert mounts["./deploy/grafana"] == provider["options"]["path"]
    home = compose["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{provider['options']['path']}/{DASHBOARD.name}"
    (source,) = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())[
        "datasources"
    ]
    variables = json.loads(DASHBOARD.read_text())["templating"]["list"]
    (datasource,) = [v for v in variables if v["type"] == "datasource"]
    assert datasource["current"]["value"] == source["uid"]
    assert source["url"] == "http://prometheus:9090"
