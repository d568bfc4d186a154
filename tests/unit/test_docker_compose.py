"""The local docker-compose.yaml, checked by parsing it.

There is no Docker engine in CI, so these tests stand in for ``docker compose config``: they
load the file with ``yaml.safe_load`` (which resolves the ``<<`` merges of the
``x-airflow-common`` anchor the way Compose does) and check the shape that a user's
``docker compose up`` relies on: the Airflow 3 components, Postgres, and moto in place of AWS.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yaml"

#: Airflow 3 component service -> its command (the image's entrypoint prepends `airflow`).
COMPONENTS = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
}
MOUNTED_DIRS = ("dags", "plugins", "include")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def _command(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command", [])
    return cmd.split() if isinstance(cmd, str) else [str(c) for c in cmd]


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def _depends_on(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: {"condition": "service_started"} for name in deps}
    return deps


def _airflow_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    image = compose["x-airflow-common"]["image"]
    return {name: svc for name, svc in compose["services"].items() if svc.get("image") == image}


def test_compose_runs_the_airflow_3_components_on_postgres(compose):
    image = compose["x-airflow-common"]["image"]
    assert image.startswith("apache/airflow:3.")
    services = compose["services"]
    for name, command in COMPONENTS.items():
        assert name in services, f"no {name} service"
        assert _command(services[name]) == [command]
        assert services[name]["image"] == image
        env = _env(services[name])
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        assert urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).scheme.startswith("postgresql")


def test_compose_uses_no_celery_redis_or_worker(compose):
    """LocalExecutor: the scheduler runs the tasks, so nothing of the Celery stack is needed."""
    names = set(compose["services"])
    assert not {"redis", "airflow-worker", "flower"} & names


def test_sql_alchemy_conn_points_at_the_postgres_service(compose):
    services = compose["services"]
    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    pg_env = _env(postgres)
    for name, svc in _airflow_services(compose).items():
        url = urlsplit(_env(svc)["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        assert url.hostname == "postgres", name
        assert url.username == pg_env["POSTGRES_USER"]
        assert url.password == pg_env["POSTGRES_PASSWORD"]
        assert url.path.lstrip("/") == pg_env["POSTGRES_DB"]


def test_a_moto_service_runs_moto_server_on_port_5000(compose):
    moto = compose["services"]["moto"]
    # The motoserver/moto image's entrypoint is moto_server; the command only adds flags.
    assert moto["image"].startswith("motoserver/moto:")
    cmd = _command(moto)
    assert cmd[cmd.index("-p") + 1] == "5000"
    assert cmd[cmd.index("-H") + 1] == "0.0.0.0"
    assert "127.0.0.1:5000:5000" in [str(p) for p in moto["ports"]]
    assert "http://localhost:5000/moto-api/" in " ".join(moto["healthcheck"]["test"])


def test_aws_default_connection_sends_every_client_to_moto(compose):
    """STS ignores the global endpoint_url, so it needs its own service_config entry."""
    moto_port = "5000"
    for name, svc in _airflow_services(compose).items():
        conn = json.loads(_env(svc)["AIRFLOW_CONN_AWS_DEFAULT"])
        assert conn["conn_type"] == "aws", name
        extra = conn["extra"]
        endpoint = urlsplit(extra["endpoint_url"])
        assert endpoint.hostname == "moto"
        assert str(endpoint.port) == moto_port
        assert extra["service_config"]["sts"]["endpoint_url"] == extra["endpoint_url"]
        assert extra["region_name"]


def test_dags_plugins_and_include_are_mounted_into_opt_airflow(compose):
    for name, svc in _airflow_services(compose).items():
        mounts = {}
        for volume in svc["volumes"]:
            source, target = str(volume).split(":")[:2]
            mounts[target] = source
        for folder in MOUNTED_DIRS:
            assert mounts.get(f"/opt/airflow/{folder}") == f"./{folder}", f"{name} lacks {folder}/"
            assert (ROOT / folder).is_dir()


def test_every_airflow_service_depends_on_postgres(compose):
    airflow_services = _airflow_services(compose)
    assert set(COMPONENTS) | {"airflow-init"} <= set(airflow_services)
    for name, svc in airflow_services.items():
        assert _depends_on(svc).get("postgres", {}).get("condition") == "service_healthy", name


def test_the_components_wait_for_the_migration_and_for_moto(compose):
    services = compose["services"]
    for name in COMPONENTS:
        deps = _depends_on(services[name])
        assert deps["airflow-init"]["condition"] == "service_completed_successfully", name
        assert deps["moto"]["condition"] == "service_healthy", name


def test_airflow_init_migrates_creates_the_pool_and_the_emulated_resources(compose):
    init = compose["services"]["airflow-init"]
    script = " ".join(_command(init))
    assert "airflow db migrate" in script
    assert "airflow pools set edgesense_cloudwatch" in script
    assert "localaws.py create-resources --endpoint http://moto:5000" in script
    assert _env(init)["_PIP_ADDITIONAL_REQUIREMENTS"] == ""


def test_task_execution_api_points_at_the_apiserver(compose):
    services = compose["services"]
    assert "127.0.0.1:8080:8080" in [str(p) for p in services["airflow-apiserver"]["ports"]]
    for name, svc in _airflow_services(compose).items():
        url = urlsplit(_env(svc)["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
        assert (url.hostname, url.port, url.path) == ("airflow-apiserver", 8080, "/execution/"), name


def test_the_dags_requirements_are_installed_for_trying_it_out(compose):
    env = _env(compose["x-airflow-common"])
    assert set(env["_PIP_ADDITIONAL_REQUIREMENTS"].split()) == {"apache-airflow-providers-amazon", "duckdb"}
    assert env["EDGESENSE_SQL_DIR"] == "/opt/airflow/include/sql"


def _host_ip(port: Any) -> str | None:
    """The host address a ``ports:`` entry publishes on (None: every interface)."""
    if isinstance(port, dict):  # long syntax
        return port.get("host_ip")
    # Short syntax: [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]
    parts = str(port).split("/", 1)[0].rsplit(":", 2)
    return parts[0] if len(parts) == 3 else None


def test_every_published_port_is_bound_to_localhost_only(compose):
    """The api-server makes every visitor an admin and moto takes any credentials, so a
    port published on 0.0.0.0 would hand both to the whole network."""
    published = {
        (name, str(port)): _host_ip(port)
        for name, svc in compose["services"].items()
        for port in svc.get("ports") or ()
    }
    assert {name for name, _ in published} >= {"moto", "airflow-apiserver"}
    assert {k: ip for k, ip in published.items() if ip != "127.0.0.1"} == {}
