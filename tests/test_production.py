"""The files an operator deploys with: compose.yaml checked against the Compose
specification's own JSON schema (vendored from compose-spec/compose-spec, Apache-2.0, in
tests/fixtures/compose-spec/; no Docker daemon here), and the Dockerfile against the
hadolint rules that apply to it, checked here (Debian does not package hadolint, and
nothing may be fetched at test time: the rule numbers are hadolint's)."""

from __future__ import annotations

import json
import re

import yaml
from jsonschema import Draft7Validator

from tests.support import ROOT

SCHEMA = ROOT / "tests" / "fixtures" / "compose-spec" / "compose-spec.json"


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_file_follows_the_compose_specification():
    validator = Draft7Validator(json.loads(SCHEMA.read_text()))
    compose = _compose()
    assert [e.message for e in validator.iter_errors(compose)] == []
    # The schema really checks: a mistyped file is refused.
    broken = {**compose, "services": {**compose["services"], "app": {
        **compose["services"]["app"], "ports": 8000, "restart": ["always"]}}}
    assert len(list(validator.iter_errors(broken))) >= 2
    services = compose["services"]
    # The parts of the production stack, each its own process.
    assert set(services) >= {"db", "redis", "migrate", "app", "worker"}
    assert services["worker"]["command"][-1] == "run-jobs"
    assert services["worker"]["environment"]["TIMEBANK_BACKUP_DIR"] == "/backups"
    env = services["app"]["environment"]
    assert env["TIMEBANK_RATELIMIT_STORAGE_URI"].startswith("redis://redis")
    assert "@db:5432/" in env["TIMEBANK_DATABASE_URL"]
    assert "/readyz" in " ".join(services["app"]["healthcheck"]["test"])
    assert services["app"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully")


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1])
            for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_dockerfile_follows_the_hadolint_rules_that_apply():
    steps = _instructions()
    kinds = [kind for kind, _rest in steps]
    base = dict(steps)["FROM"]
    assert ":" in base and not base.endswith(":latest")  # DL3006/DL3007: a pinned tag
    assert "ADD" not in kinds  # DL3020: COPY, not ADD
    assert kinds.count("CMD") == 1 and dict(steps)["CMD"].startswith("[")  # DL3025: JSON
    assert "HEALTHCHECK" in kinds
    # DL3002: the last USER is not root, and it comes before the command.
    users = [rest for kind, rest in steps if kind == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert kinds.index("USER") < kinds.index("CMD")
    for kind, rest in steps:
        if kind != "RUN":
            continue
        assert "sudo " not in rest  # DL3004
        if "apt-get install" in rest:  # DL3014, DL3015, DL3009
            assert " -y" in rest and "--no-install-recommends" in rest
            assert "rm -rf /var/lib/apt/lists/*" in rest
        if "pip install" in rest:  # DL3042: no pip cache in the image
            assert "--no-cache-dir" in rest or "PIP_NO_CACHE_DIR=1" in dict(steps)["ENV"]
        assert not re.search(r"\bcd\b", rest)  # DL3003: WORKDIR, not cd
