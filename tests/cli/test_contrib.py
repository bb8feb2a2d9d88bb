"""contrib/: the Prometheus rules and their promtool unit tests, the systemd units, the
Kubernetes and Ansible examples, each checked by the real tool where it is installed."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tui.demo import build_demo

CONTRIB = Path(__file__).resolve().parents[2] / "contrib"
RULES = CONTRIB / "prometheus" / "gitward.rules.yml"
RULE_TESTS = CONTRIB / "prometheus" / "gitward.rules.test.yml"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (Debian package prometheus)")

ALERTS = (
    "GitwardStaleLooseRefs", "GitwardPackedRefsAnomaly", "GitwardStaleLock", "GitwardGitSyncCurrentWorktreeBroken",
    "GitwardPrunableWorktrees", "GitwardLooseRefBacklog", "GitwardScanStopped",
)  # fmt: skip
_ALERT_EXPR = re.compile(r"- alert: (\w+)\n(?:\s*#.*\n)*\s*expr: (.*)\n")


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def alert_exprs(text: str) -> dict[str, str]:
    return dict(_ALERT_EXPR.findall(text))


def test_rules_name_every_alert_and_say_what_to_run():
    text = RULES.read_text()
    assert tuple(alert_exprs(text)) == ALERTS
    blocks = re.split(r"\n      - alert: ", text)[1:]
    for block in blocks:
        assert re.search(r"summary: ", block) and re.search(r"Run:\s+(gitward|systemctl)", block), block[:60]


@needs_promtool
def test_promtool_check_rules():
    result = promtool("check", "rules", RULES.name, cwd=RULES.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(ALERTS)} rules found" in result.stdout


@needs_promtool
def test_promtool_test_rules_pass():
    result = promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
@pytest.mark.parametrize("alert", ALERTS)
def test_every_alert_has_a_fires_and_a_does_not_fire_case(tmp_path, alert):
    """Mutate one alert at a time: never firing must break a 'fires' case, always firing must
    break a 'does not fire' case. A rule test file that only checks one side fails here."""
    text = RULES.read_text()
    expr = alert_exprs(text)[alert]
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    for replacement in ("vector(0) > 1", "vector(1)"):
        mutated = text.replace(f"expr: {expr}\n", f"expr: {replacement}\n", 1)
        assert mutated != text
        (tmp_path / RULES.name).write_text(mutated)
        result = promtool("test", "rules", RULE_TESTS.name, cwd=tmp_path)
        assert result.returncode != 0, f"{alert} with expr {replacement!r} still passes the rule tests"
        assert f"alertname: {alert}" in result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_units_verify(tmp_path):
    gitward = shutil.which("gitward") or str(Path(sys.executable).with_name("gitward"))
    service = (CONTRIB / "systemd" / "gitward-textfile.service").read_text()
    assert "--format prometheus --output /var/lib/prometheus/node-exporter/gitward.prom" in service
    # verify checks that ExecStart exists: point it at this environment's gitward.
    (tmp_path / "gitward-textfile.service").write_text(service.replace("/usr/local/bin/gitward", gitward))
    shutil.copy(CONTRIB / "systemd" / "gitward-textfile.timer", tmp_path)
    result = subprocess.run(
        ["systemd-analyze", "verify", "gitward-textfile.service", "gitward-textfile.timer"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if "gitward-textfile" in line]
    assert result.returncode == 0 and not complaints, result.stdout + result.stderr


def _yaml_documents(path: Path) -> list:
    yaml = pytest.importorskip("yaml", reason="PyYAML not installed: structure checked by text only")
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


@pytest.mark.parametrize("name", ["gitward-cronjob.yaml", "git-sync-sidecar.yaml"])
def test_kubernetes_examples_text(name):
    text = (CONTRIB / "kubernetes" / name).read_text()
    assert "\t" not in text
    assert re.search(r"gitward\"?,? \"?scan\"?,? \"?/\S+\"?,? \"?--format\"?,? \"?prometheus\"?,? \"?--output", text)
    assert "--collector.textfile.directory=/metrics" in text


@pytest.mark.parametrize("name", ["gitward-cronjob.yaml", "git-sync-sidecar.yaml"])
def test_kubernetes_examples_parse(name):
    documents = _yaml_documents(CONTRIB / "kubernetes" / name)
    kinds = [doc["kind"] for doc in documents]
    assert kinds == (["CronJob", "Deployment"] if name == "gitward-cronjob.yaml" else ["Deployment"])
    for doc in documents:
        pod = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"] if doc["kind"] == "CronJob" else doc["spec"]["template"]["spec"]
        mounts = {v["name"] for v in pod["volumes"]}
        for container in pod["containers"]:
            assert {m["name"] for m in container.get("volumeMounts", [])} <= mounts


def test_ansible_playbook_parses():
    ((play,),) = _yaml_documents(CONTRIB / "ansible" / "gitward-scan.yml")
    assert any("gitward" in " ".join(task["ansible.builtin.command"]["argv"]) for task in play["tasks"] if "ansible.builtin.command" in task)


def test_ansible_fact_shim_prints_the_scan_json(tmp_path):
    shim = CONTRIB / "ansible" / "gitward.fact"
    assert os.access(shim, os.X_OK)
    root = build_demo(str(tmp_path / "demo"))
    env = dict(os.environ, GITWARD_ROOTS=root, PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    result = subprocess.run([str(shim)], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert facts["summary"]["repos"] == 8 and facts["summary"]["problems"]["error"] >= 1
