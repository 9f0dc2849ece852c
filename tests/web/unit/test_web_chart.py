"""The chart's web component: nginx with the built app, at `/` of the APIs' ingress host."""

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "deploy" / "helm" / "rex"
pytestmark = pytest.mark.timeout(1800)  # the first use may build helm from its Go module


@pytest.fixture(scope="module")
def render() -> Any:
    script = REPO / "deploy" / "tools" / "install-helm.sh"
    helm = subprocess.run(
        ["bash", str(script)], check=True, capture_output=True, text=True, timeout=1500
    ).stdout.splitlines()[-1]

    def run(*args: str) -> list[dict[str, Any]]:
        out = subprocess.run(
            [helm, "template", "rex", str(CHART), *args],
            check=True, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        return [d for d in yaml.safe_load_all(out.stdout) if d]

    return run


def named(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def test_enabled_web_serves_the_app_at_the_root_of_the_api_host_over_tls(render: Any) -> None:
    docs = render("--set", "web.enabled=true")
    web = named(docs, "Ingress", "rex-web")
    (api,) = [d for d in docs if d["kind"] == "Ingress" and d["metadata"]["name"] == "rex"]
    (rule,) = web["spec"]["rules"]
    assert rule["host"] == api["spec"]["rules"][0]["host"]
    assert web["spec"]["tls"] == api["spec"]["tls"]
    (path,) = rule["http"]["paths"]
    assert (path["path"], path["pathType"]) == ("/", "Prefix")
    assert path["backend"]["service"] == {"name": "rex-web", "port": {"name": "http"}}
    service = named(docs, "Service", "rex-web")
    assert service["spec"]["ports"][0]["port"] == 8080


def test_the_web_pod_runs_nginx_non_root_on_a_read_only_root(render: Any) -> None:
    pod = named(render("--set", "web.enabled=true"), "Deployment", "rex-web")["spec"]
    spec = pod["template"]["spec"]
    (container,) = spec["containers"]
    assert container["image"] == "rex/web:0.1.0"
    assert container["readinessProbe"]["httpGet"] == {"path": "/nginx-health", "port": "http"}
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]


def test_web_is_left_out_unless_enabled(render: Any) -> None:
    names = {(d["kind"], d["metadata"]["name"]) for d in render()}
    assert not {n for n in names if n[1] == "rex-web"}


def test_the_image_serves_the_build_as_a_non_root_user_without_the_api() -> None:
    dockerfile = (REPO / "web" / "Dockerfile").read_text()
    assert "npm ci" in dockerfile and "npm run build" in dockerfile
    assert "COPY --from=build /web/dist /usr/share/nginx/html" in dockerfile
    assert "\nUSER 10001\n" in dockerfile and "EXPOSE 8080" in dockerfile
    conf = (REPO / "web" / "nginx.conf").read_text()
    assert "listen 8080;" in conf and "pid /tmp/nginx.pid;" in conf
    assert "proxy_pass" not in conf  # the ingress routes the APIs
