"""The deployment artefacts hold together: Helm chart, docker-compose.yml, Dockerfiles."""

import fnmatch
import re
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "deploy" / "helm" / "rex"
PRODUCTION = CHART / "values-production.yaml"

# name -> (folder, python module, port, Ingress prefixes)
SERVICES = {
    "evaluator": (
        "services/evaluator",
        "evaluator",
        8001,
        {"/api/v1/evaluations", "/api/v1/datasets", "/api/v1/provider-keys"},
    ),
    "cost-ledger": ("services/cost-ledger", "cost_ledger", 8002, {"/api/v1/costs"}),
    "budget": ("services/budget", "budget", 8003, {"/api/v1/budgets"}),
    "notifier": ("services/notifier", "notifier", 8004, {"/api/v1/notifications"}),
}
IMAGES = {name: (d, m, p) for name, (d, m, p, _) in SERVICES.items()}
IMAGES["llm-sim"] = ("tools/llm-sim", "llm_sim", 8010)
# The first use of helm may build it from source (a few minutes); later uses take milliseconds.
pytestmark = pytest.mark.timeout(1800)

Render = Callable[..., list[dict[str, Any]]]


@pytest.fixture(scope="session")
def helm() -> str:
    """A helm binary: built once from its Go module into .rex/bin by the repo's own script."""
    script = REPO / "deploy" / "tools" / "install-helm.sh"
    done = subprocess.run(
        ["bash", str(script)], check=True, capture_output=True, text=True, timeout=1500
    )
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def render(helm: str) -> Render:
    """`helm template` of the chart with extra arguments, as a list of manifests (cached)."""
    cache: dict[tuple[str, ...], list[dict[str, Any]]] = {}

    def run(*args: str) -> list[dict[str, Any]]:
        if args not in cache:
            out = subprocess.run(
                [helm, "template", "rex", str(CHART), *args],
                check=True, capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            cache[args] = [doc for doc in yaml.safe_load_all(out.stdout) if doc]
        return cache[args]

    return run


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


VALUES = [(), ("-f", str(PRODUCTION))]


@pytest.mark.parametrize("values", [[], ["-f", str(PRODUCTION)]], ids=["default", "production"])
def test_the_chart_passes_helm_lint_strict(helm: str, values: list[str]) -> None:
    subprocess.run([helm, "lint", "--strict", str(CHART), *values], check=True, timeout=120)


@pytest.mark.parametrize("values", VALUES, ids=["default", "production"])
def test_each_service_is_one_deployment_probed_on_health_and_ready(
    render: Render, values: tuple[str, ...]
) -> None:
    deployments = of_kind(render(*values), "Deployment")
    assert set(deployments) == {f"rex-{name}" for name in SERVICES}
    for name, (_, _, port, _) in SERVICES.items():
        pod = deployments[f"rex-{name}"]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
        assert pod["securityContext"]["runAsNonRoot"] is True


def test_the_ingress_routes_each_api_prefix_to_its_service_over_tls(render: Render) -> None:
    (ingress,) = of_kind(render(), "Ingress").values()
    (rule,) = ingress["spec"]["rules"]
    routes = {p["path"]: p["backend"]["service"]["name"] for p in rule["http"]["paths"]}
    expected = {path: f"rex-{name}" for name, (*_, paths) in SERVICES.items() for path in paths}
    assert routes == expected
    assert ingress["spec"]["tls"][0]["hosts"] == [rule["host"]]


@pytest.mark.parametrize("values", VALUES, ids=["default", "production"])
def test_migrations_are_pre_install_and_pre_upgrade_hook_jobs(
    render: Render, values: tuple[str, ...]
) -> None:
    docs = render(*values)
    jobs, deployments = of_kind(docs, "Job"), of_kind(docs, "Deployment")
    assert set(jobs) == {f"rex-{name}-migrate" for name in SERVICES}
    for name in SERVICES:
        job = jobs[f"rex-{name}-migrate"]
        hooks = job["metadata"]["annotations"]["helm.sh/hook"].split(",")
        assert {"pre-install", "pre-upgrade"} <= set(hooks)
        (container,) = job["spec"]["template"]["spec"]["containers"]
        (served,) = deployments[f"rex-{name}"]["spec"]["template"]["spec"]["containers"]
        assert container["args"] == ["migrate"]
        assert container["image"] == served["image"]


def test_the_secret_is_created_before_the_jobs_and_holds_every_key_the_pods_need(
    render: Render,
) -> None:
    docs = render()
    (secret,) = of_kind(docs, "Secret").values()
    weight = int(secret["metadata"]["annotations"]["helm.sh/hook-weight"])
    for job in of_kind(docs, "Job").values():
        assert weight < int(job["metadata"]["annotations"]["helm.sh/hook-weight"])
    for ref in _secret_refs(docs):
        assert ref["name"] == secret["metadata"]["name"]
        assert ref.get("optional") or ref["key"] in secret["stringData"]


def test_an_existing_secret_replaces_the_charts_own(render: Render) -> None:
    docs = render("-f", str(PRODUCTION))
    assert not of_kind(docs, "Secret")
    assert {ref["name"] for ref in _secret_refs(docs)} == {"rex-secrets"}


def test_production_values_autoscale_and_protect_every_service(render: Render) -> None:
    docs = render("-f", str(PRODUCTION))
    names = {f"rex-{name}" for name in SERVICES}
    assert set(of_kind(docs, "HorizontalPodAutoscaler")) == names
    assert set(of_kind(docs, "PodDisruptionBudget")) == names
    assert set(of_kind(docs, "NetworkPolicy")) == names
    for deployment in of_kind(docs, "Deployment").values():
        assert "replicas" not in deployment["spec"]  # the HPA owns the count


def _secret_refs(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    refs = []
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            for container in doc["spec"]["template"]["spec"]["containers"]:
                refs += [e["valueFrom"]["secretKeyRef"] for e in container.get("env", [])
                         if "secretKeyRef" in e.get("valueFrom", {})]  # fmt: skip
    return refs


# ---- docker-compose.yml and .env.example

COMPOSE = REPO / "docker-compose.yml"
VARIABLE = re.compile(r"(?<!\$)\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text())["services"])


def env_example() -> dict[str, str]:
    lines = (REPO / ".env.example").read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if line and not line.startswith("#"))
    return {key: value for key, value in pairs}


def test_compose_runs_every_service_with_a_healthcheck_after_its_migration() -> None:
    services = compose()
    assert set(services) == {
        *SERVICES, *(f"{name}-migrate" for name in SERVICES),
        "kafka", "postgres", "llm-sim", "mailpit", "prometheus", "grafana",
    }  # fmt: skip
    for name, service in services.items():
        if name.endswith("-migrate"):
            assert service["command"] == ["migrate"]
            assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        else:
            assert service["healthcheck"]["test"], name
    for name in SERVICES:
        needs = services[name]["depends_on"]
        assert needs[f"{name}-migrate"]["condition"] == "service_completed_successfully"
        assert needs["kafka"]["condition"] == "service_healthy"
        assert services[name]["build"]["dockerfile"] == f"{SERVICES[name][0]}/Dockerfile"
    assert services["kafka"]["image"].endswith("apache/kafka:4.1.0}")


def test_every_compose_variable_is_in_env_example_with_the_same_default() -> None:
    example = env_example()
    used = VARIABLE.findall(COMPOSE.read_text())
    for name, op, default in used:
        assert name in example, f"{name} is missing from .env.example"
        if op == ":-":
            assert example[name] == default, f"{name}: .env.example and compose disagree"
    assert {name for name, op, _ in used if op == ":?"} == {"REX_JWT_SECRET"}
    assert example["REX_JWT_SECRET"] == ""  # never a committed secret
    unused = set(example) - {name for name, _, _ in used} - {"COMPOSE_PROJECT_NAME"}
    assert not unused, f".env.example sets variables compose never reads: {unused}"


def test_prometheus_scrapes_the_metrics_of_every_service() -> None:
    config = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text())
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "rex"]
    targets = {t for group in job["static_configs"] for t in group["targets"]}
    assert job["metrics_path"] == "/metrics"
    assert targets == {f"{name}:{port}" for name, (_, _, port, _) in SERVICES.items()}


# ---- Dockerfiles


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuations joined and comments dropped."""
    text = re.sub(r"\\\n(\s*#.*\n)*", " ", dockerfile.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.partition(" ") for line in lines if line and line[0] != "#")
    ]


def ignored(path: str) -> bool:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    patterns = [p for p in lines if p and p[0] not in "#!"]
    parts = Path(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(fnmatch.fnmatch(prefix, p) for p in patterns for prefix in prefixes)


@pytest.mark.parametrize("name", IMAGES)
def test_each_dockerfile_copies_only_existing_paths_of_the_repo_root(name: str) -> None:
    folder, _, _ = IMAGES[name]
    for word, args in instructions(REPO / folder / "Dockerfile"):
        tokens = shlex.split(args)
        if word != "COPY" or any(t.startswith("--from") for t in tokens):
            continue
        for source in [t for t in tokens if not t.startswith("--")][:-1]:
            assert (REPO / source).exists(), f"COPY {source}: no such path"
            assert not ignored(source.rstrip("/")), f"COPY {source}: excluded by .dockerignore"


@pytest.mark.parametrize("name", IMAGES)
def test_each_image_runs_its_package_as_a_non_root_user(name: str) -> None:
    folder, module, port = IMAGES[name]
    steps = instructions(REPO / folder / "Dockerfile")
    runtime = steps[max(i for i, (word, _) in enumerate(steps) if word == "FROM") :]
    final = {word: args for word, args in runtime}  # the last of each instruction wins
    user = final["USER"].split(":")[0]
    assert user.isdigit() and user != "0"
    assert final["ENTRYPOINT"] == f'["python", "-m", "{module}"]'
    assert final["EXPOSE"] == str(port)
    assert "/health" in final["HEALTHCHECK"]
    builder = " ".join(args for word, args in steps if word == "RUN")
    assert f"uv sync --frozen --no-dev --package rex-{name} --no-editable" in builder
    env_args = [shlex.split(args) for word, args in runtime if word == "ENV"]
    env = dict(kv.split("=", 1) for kvs in env_args for kv in kvs)
    if name in SERVICES:
        assert final["CMD"] == '["serve"]'
        (migrations,) = [k for k in env if k.endswith("_MIGRATIONS_DIR")]
        copies = [shlex.split(args) for word, args in runtime if word == "COPY"]
        copied = [tokens[-1] for tokens in copies if tokens[0].startswith("migrations/")]
        assert copied == [env[migrations].rstrip("/") + "/"]
    assert [v for k, v in env.items() if k.endswith("_HOST")] == ["0.0.0.0"]
