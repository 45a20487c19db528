"""The progressive-delivery recipe in deploy/ (docs/delivery.md): the Kubernetes objects validate with
kubernetes-validate (strict: an unknown field is an error), the Argo Rollouts resources against the schema of
Argo's API types (as the npm package @kubernetes-models/argo-rollouts generates it from
github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1, pinned in tests/argo/package-lock.json), the
command lines in them parse with the real parser, and the canary gate's shell loop maps exit statuses to the
Job's outcome as documented."""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from workbench.cli import build_parser
from workbench.cli.checks import SHADOW
from workbench.cli.options import config_values

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
ARGO = Path(__file__).resolve().parent / "argo"
KUBERNETES = ("1.30.0", kubernetes_validate.latest_version())  # CronJob timeZone is GA from 1.27


def load(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.fixture(scope="module")
def manifests() -> dict[str, dict[str, Any]]:
    """Every resource of deploy/ by kind."""
    found = {doc["kind"]: doc for path in sorted(DEPLOY.rglob("*.yaml")) for doc in load(path)}
    assert set(found) == {"AnalysisTemplate", "Rollout", "ConfigMap", "CronJob"}
    return found


def gate_job(template: dict[str, Any]) -> dict[str, Any]:
    """The Job the AnalysisTemplate's job provider creates (Argo adds the name and owner)."""
    (metric,) = template["spec"]["metrics"]
    job = metric["provider"]["job"]
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "workbench-shadow-gate-1", **job.get("metadata", {})}, "spec": job["spec"]}


def gate_script(template: dict[str, Any]) -> str:
    (container,) = gate_job(template)["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["/bin/sh", "-c"]
    (script,) = container["args"]
    return script


@pytest.mark.parametrize("version", KUBERNETES)
def test_the_core_objects_are_valid_kubernetes(manifests, version):
    for resource in (manifests["CronJob"], manifests["ConfigMap"], gate_job(manifests["AnalysisTemplate"])):
        kubernetes_validate.validate(resource, version, strict=True)


def test_the_validator_refuses_a_broken_object(manifests):
    broken = copy.deepcopy(manifests["CronJob"])
    broken["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] = ["Never"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES[0], strict=True)
    unknown = copy.deepcopy(manifests["CronJob"])
    unknown["spec"]["schedules"] = "@hourly"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(unknown, KUBERNETES[0], strict=True)


@pytest.fixture(scope="module")
def argo_validator(request) -> Path:
    """tests/argo installed (npm ci, from its lock file) once into pytest's cache folder."""
    npm = shutil.which("npm")
    assert npm and shutil.which("node"), "node and npm are needed to validate the Argo Rollouts resources"
    folder = Path(request.config.cache.mkdir("argo-rollouts-validator"))
    lock = (ARGO / "package-lock.json").read_text()
    installed = folder / "node_modules" / "@kubernetes-models" / "argo-rollouts" / "package.json"
    if not installed.exists() or (folder / "package-lock.json").read_text() != lock:
        for name in ("package.json", "package-lock.json", "validate.mjs"):
            shutil.copy(ARGO / name, folder / name)
        run = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=folder,
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    shutil.copy(ARGO / "validate.mjs", folder / "validate.mjs")
    return folder


def argo_errors(folder: Path, resources: list[dict[str, Any]]) -> list[str | None]:
    run = subprocess.run(["node", "validate.mjs"], cwd=folder, input=json.dumps(resources), capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@pytest.mark.slow
def test_the_argo_resources_match_the_schema_of_argos_types(manifests, argo_validator):
    assert argo_errors(argo_validator, [manifests["AnalysisTemplate"], manifests["Rollout"]]) == [None, None]
    template, rollout = copy.deepcopy(manifests["AnalysisTemplate"]), copy.deepcopy(manifests["Rollout"])
    template["spec"]["metrics"][0]["failureLimit"] = "none"
    del template["spec"]["metrics"][0]["name"]
    rollout["spec"]["strategy"]["canary"]["steps"][0]["setWeight"] = "1%"
    assert argo_errors(argo_validator, [template, rollout]) == [
        "data/spec/metrics/0 must have required property name",
        "data/spec/strategy/canary/steps/0/setWeight must be integer"]


def test_the_rollout_runs_the_gate_at_each_stage_of_the_configs_plan(manifests):
    config = yaml.safe_load(manifests["ConfigMap"]["data"]["shadow.yaml"])
    values = config_values(config, SHADOW.options, base=Path("/etc/workbench"), where="shadow.yaml")
    assert values["mode"] == "canary" and values["stages"] == [0.01, 0.05, 0.25, 1]
    steps = manifests["Rollout"]["spec"]["strategy"]["canary"]["steps"]
    weights = [s["setWeight"] for s in steps if "setWeight" in s]
    gates = [s["analysis"] for s in steps if "analysis" in s]
    assert weights == [round(stage * 100) for stage in values["stages"][:-1]]
    assert [g["args"] for g in gates] == [[{"name": "stage", "value": str(stage)}] for stage in values["stages"][:-1]]
    template = manifests["AnalysisTemplate"]
    assert {g["templates"][0]["templateName"] for g in gates} == {template["metadata"]["name"]}
    assert {a["name"] for a in template["spec"]["args"]} >= {"stage"}
    looks_per_step = next(e["value"] for e in gate_job(template)["spec"]["template"]["spec"]["containers"][0]["env"]
                          if e["name"] == "LOOKS_PER_STEP")
    assert values["looks"] == len(gates) * int(looks_per_step)  # the false-rollback rate covers every look
    volumes = gate_job(template)["spec"]["template"]["spec"]["volumes"]
    assert next(v for v in volumes if v["name"] == "config")["configMap"]["name"] == \
        manifests["ConfigMap"]["metadata"]["name"]


def test_the_command_lines_parse(manifests):
    shadow = next(line.strip() for line in gate_script(manifests["AnalysisTemplate"]).splitlines()
                  if line.strip().startswith("workbench "))
    words = shlex.split(re.sub(r'"\$(\w+)"', lambda m: m.group(1).lower(), shadow))
    args = build_parser().parse_args(words[1:])
    assert (args.command, args.config, args.stage, args.alertmanager) == \
        ("shadow", "/etc/workbench/shadow.yaml", "stage", "alertmanager")
    (container,) = manifests["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    command = [word.replace("$(SLACK_WEBHOOK)", "https://hooks.example/x") for word in container["command"]]
    report = build_parser().parse_args(command[1:])
    assert (report.command, report.template, report.retries, report.notify) == \
        ("report", "drift", 3, "https://hooks.example/x")
    assert dict(report.parameter) == {"reference_path": "/data/reference.profile.json", "current_path": "/data/current"}


@pytest.mark.parametrize(("codes", "exit_status", "looks"), [
    ([0], 0, 1),  # promote: the step passes
    ([1], 1, 1),  # rollback: the Job fails at once
    ([3, 3, 0], 0, 3),  # hold twice, then promote
    ([3, 3, 3], 3, 3),  # still hold after every look: the Job fails
    ([3, 6], 6, 2),  # an action failed
])
def test_the_gates_loop_holds_then_answers(manifests, tmp_path, codes, exit_status, looks):
    """The Job's script with a stand-in `workbench` that exits with ``codes`` in turn."""
    fake = tmp_path / "workbench"
    (tmp_path / "codes").write_text("\n".join(map(str, codes)) + "\n")
    fake.write_text('#!/bin/sh\necho "$@" >> "$(dirname "$0")/calls"\ncode=$(head -n 1 "$(dirname "$0")/codes")\n'
                    'sed -i 1d "$(dirname "$0")/codes"\nexit "$code"\n')
    fake.chmod(0o755)
    env = {"PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}", "STAGE": "0.05", "ALERTMANAGER": "http://am:9093",
           "LOOKS_PER_STEP": "3", "HOLD_WAIT": "0"}
    run = subprocess.run(["/bin/sh", "-c", gate_script(manifests["AnalysisTemplate"])], env=env, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == exit_status, run.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    assert len(calls) == looks
    assert calls[-1].startswith("shadow --config /etc/workbench/shadow.yaml --stage 0.05 ")
    assert f"--out /results/shadow-0.05-{looks}.json" in calls[-1]
