"""Every Python example of the user's guide, run as written.

The guide (``../shared/enterprise-module-guide.md``) is read at test time; each ```python block
is taken verbatim, with the one substitution the project documents (``src.enterprise`` →
``pytest_enterprise``), and run by a fresh interpreter in a temporary project, so no block sees
another's state (the global ``flag_manager`` above all). A block that uses ``await`` runs as the
body of an ``async def``, driven by ``asyncio.run``.

The guide leans on an existing system it never defines. ``PRELUDE`` supplies those names, and
only those: the functions it calls (``perform_advanced_analysis``, ``existing_operation``,
``existing_quality_gate``), the values it reads (``code``, ``config``, ``telemetry``,
``policy_engine``), the names a block uses without importing them (``Path``, ``SBOMFormat``,
``SLSALevel``, ``ComplianceStatus``, ``FlagStatus``, ``RolloutStrategy``, ``flag_manager``),
and a stand-in ``analyzer.policy_engine`` module. Two blocks only define a function; an epilogue
calls it, so its body runs too.

Each block must exit 0, except the supply-chain one: it asks for SLSA Build L3, which a test
plugin can never earn, and must stop with ``SLSALevelUnmetError`` naming what is missing. The
same block at Level 1 (the only change) must run to the end and print the report's numbers.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[2] / "shared" / "enterprise-module-guide.md"
ROOT = Path(__file__).resolve().parents[1]

PRELUDE = '''\
# -- prelude: what the guide assumes exists (tests/test_guide_examples.py) --
import asyncio
from pathlib import Path
from types import SimpleNamespace

from analyzer.policy_engine import PolicyEngine
from pytest_enterprise.compliance.matrix import ComplianceStatus
from pytest_enterprise.config.enterprise_config import EnterpriseConfig
from pytest_enterprise.flags.feature_flags import FlagStatus, RolloutStrategy, flag_manager
from pytest_enterprise.security.supply_chain import SBOMFormat, SLSALevel
from pytest_enterprise.telemetry.six_sigma import SixSigmaTelemetry


def perform_advanced_analysis(code):
    return ("advanced", code)


def perform_standard_analysis(code):
    return ("standard", code)


def existing_operation():
    return "operation result"


def existing_quality_gate(code_metrics):
    violations = [SimpleNamespace(type=name, message=f"{name} over limit") for name in code_metrics.get("over", ())]
    return SimpleNamespace(passed=not violations, violations=violations)


code = "def answer():\\n    return 42\\n"
config = EnterpriseConfig.from_environment_variables()
telemetry = SixSigmaTelemetry("quality_gates")
policy_engine = PolicyEngine()
# -- end of prelude --
'''

POLICY_ENGINE = '''\
"""A stand-in for the guide's existing analyzer: one gate method returning passed/violations."""
from types import SimpleNamespace


class PolicyEngine:
    def evaluate_quality_gates(self, metrics):
        violations = [SimpleNamespace(type="complexity", message="too complex", severity="high")] if metrics.get("complexity", 0) > 10 else []
        return SimpleNamespace(passed=not violations, violations=violations)
'''

#: Code run after a block that only defines a function, keyed by that function's name.
EPILOGUES = {
    "def integrate_with_existing_system": "print('integrated:', integrate_with_existing_system())\n",
    "def enhanced_quality_gate": (
        "print('gate passed:', enhanced_quality_gate({'over': []}).passed)\n"
        "print('gate passed:', enhanced_quality_gate({'over': ['complexity', 'duplication']}).passed)\n"
        "snapshot = telemetry.generate_metrics_snapshot()\n"
        "print('recorded:', snapshot.units, snapshot.defects)\n"
    ),
    "wrap_policy_engine(policy_engine)": (
        "enhanced_policy_engine.evaluate_quality_gates({'complexity': 20})\n"
        "print('wrapped engine recorded:', integration.telemetry.generate_metrics_snapshot().units)\n"
    ),
}

#: One vulnerability record matching the installed pytest: a known, independent risk score.
OSV_RECORD = {
    "id": "PYSEC-2099-7",
    "modified": "2024-01-01T00:00:00Z",
    "affected": [{"package": {"ecosystem": "PyPI", "name": "pytest"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}],
}


def guide_text() -> str:
    if not GUIDE.is_file():
        pytest.skip(f"the user's guide is not at {GUIDE} (it lives beside the repository, in ../shared)")
    return GUIDE.read_text(encoding="utf-8")


def python_blocks(text: str) -> list[str]:
    return [block.replace("src.enterprise", "pytest_enterprise") for block in re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)]


def script_for(block: str) -> str:
    epilogue = "".join(code for key, code in EPILOGUES.items() if key in block)
    if re.search(r"^\s*[^#\n]*\bawait\b", block, re.M):
        body = "async def guide_block():\n" + textwrap.indent(block + epilogue, "    ") + "\n\nasyncio.run(guide_block())\n"
    else:
        body = block + "\n" + epilogue
    return PRELUDE + "\n" + body


@pytest.fixture
def guide_project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A project folder with the stand-in analyzer, the evidence file the compliance example
    cites, an OSV database, a signing key and a config naming them; and an environment without the caller's ENTERPRISE_* settings."""
    from pytest_enterprise.supply_chain.keys import generate_keypair

    (tmp_path / "analyzer").mkdir()
    (tmp_path / "analyzer" / "__init__.py").write_text("")
    (tmp_path / "analyzer" / "policy_engine.py").write_text(POLICY_ENGINE)
    (tmp_path / "evidence").mkdir()  # the compliance example cites this file as its evidence
    (tmp_path / "evidence" / "logical-access-controls.md").write_text("# Logical access\n\nMFA is enforced for every account.\n")
    (tmp_path / "osv").mkdir()
    (tmp_path / "osv" / "PYSEC-2099-7.json").write_text(json.dumps(OSV_RECORD))
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "guide-project"\nversion = "1.0.0"\n')
    (tmp_path / "enterprise-config.yaml").write_text(
        "security:\n  vulnerability_db: osv\n  signing_key: ci.key\ntelemetry:\n  enabled: true\n  history_path: .enterprise/history.db\n"
    )
    generate_keypair(tmp_path / "ci")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ENTERPRISE_", "PYTEST_"))}
    for variable in ("GITHUB_ACTIONS", "GITLAB_CI", "CI", "BUILDKITE", "JENKINS_URL"):
        env.pop(variable, None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["ENTERPRISE_ACTOR"] = "guide-reader"
    return tmp_path, env


RUNNER = '''\
"""Runs each block script named on the command line in a forked child of one interpreter that
has already run the prelude's imports: every block starts from the same fresh state (a new
global flag_manager, no telemetry recorded) without paying the imports again."""
import json, os, subprocess, sys, traceback

names = sys.argv[1:]
prelude = open("prelude.py").read()
exec(compile(prelude, "prelude.py", "exec"), {"__name__": "__prelude__"})  # warm the imports only
results = {}
for name in names:
    source = open(f"{name}.py").read()
    if not hasattr(os, "fork"):
        done = subprocess.run([sys.executable, f"{name}.py"], capture_output=True, text=True)
        results[name] = [done.returncode, done.stdout, done.stderr]
        continue
    sys.stdout.flush(); sys.stderr.flush()
    with open(f"{name}.out", "w") as out, open(f"{name}.err", "w") as err:
        pid = os.fork()
        if pid == 0:
            os.dup2(out.fileno(), 1); os.dup2(err.fileno(), 2)
            code = 0
            try:
                exec(compile(source, f"{name}.py", "exec"), {"__name__": "__main__", "__file__": f"{name}.py"})
            except SystemExit as exit:
                code = exit.code if isinstance(exit.code, int) else 1
            except BaseException:
                traceback.print_exc()
                code = 1
            sys.stdout.flush(); sys.stderr.flush()
            os._exit(code)
        _, status = os.waitpid(pid, 0)
    results[name] = [os.waitstatus_to_exitcode(status), open(f"{name}.out").read(), open(f"{name}.err").read()]
print(json.dumps(results))
'''


def run_scripts(project: Path, env: dict[str, str], scripts: dict[str, str]) -> dict[str, subprocess.CompletedProcess[str]]:
    """Each script from a fresh state (see ``RUNNER``), in ``project``."""
    (project / "prelude.py").write_text(PRELUDE)
    (project / "runner.py").write_text(RUNNER)
    for name, script in scripts.items():
        (project / f"{name}.py").write_text(script)
    done = subprocess.run([sys.executable, "runner.py", *scripts], cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return {
        name: subprocess.CompletedProcess([name], code, stdout, stderr)
        for name, (code, stdout, stderr) in json.loads(done.stdout.splitlines()[-1]).items()
    }


def test_every_python_example_of_the_guide_runs_as_written(guide_project):
    project, env = guide_project
    blocks = python_blocks(guide_text())
    assert len(blocks) >= 8, "the guide has fewer Python examples than it did; update this test"
    scripts = {f"block_{index}": script_for(block) for index, block in enumerate(blocks)}
    slsa = [name for name, block in zip(scripts, blocks) if "SLSALevel.LEVEL_3" in block]
    assert len(slsa) == 1
    # The supply-chain block, with the one change that makes its level reachable.
    level_1 = blocks[int(slsa[0].split("_")[1])].replace("SLSALevel.LEVEL_3", "SLSALevel.LEVEL_1")
    scripts["supply_chain_at_level_1"] = script_for(level_1)
    results = run_scripts(project, env, scripts)

    failures = [
        f"{name} exited {result.returncode}:\n{result.stderr[-1500:]}"
        for name, result in results.items()
        if name not in slsa and result.returncode != 0
    ]
    assert not failures, "\n\n".join(failures)
    for name, result in results.items():
        assert "Traceback" not in result.stderr or name in slsa, (name, result.stderr)

    out = {name: result.stdout for name, result in results.items()}
    joined = "\n".join(out.values())
    # What the examples print, from values this test knows independently.
    assert "DPMO: " in joined and "RTY: " in joined
    assert "Total Flags: " in joined and "Enabled Flags: " in joined
    assert "Compliant Controls: 1/" in joined
    assert "integrated: operation result" in joined
    assert "gate passed: True" in joined and "gate passed: False" in joined
    assert "recorded: 2 2" in joined  # two gate calls, two violations on the second
    assert "wrapped engine recorded: 1" in joined
    assert out["supply_chain_at_level_1"].splitlines()[-2:] == ["Risk Score: 2", "Vulnerabilities Found: 1"]  # one unknown-severity finding

    refused = results[slsa[0]]
    assert refused.returncode == 1
    last = refused.stderr.strip().splitlines()[-1]
    assert last.startswith("pytest_enterprise.supply_chain.security.SLSALevelUnmetError: SLSA Build L3 requested, but this run achieves Build L1; unmet: ")
    for requirement in ("L2 Hosted", "L2 Provenance is authentic: signing key", "L3 Provenance is unforgeable", "L3 Isolated"):
        assert requirement in last


def test_the_guides_installation_check_prints_ready(guide_project):
    project, env = guide_project
    commands = re.findall(r'^python -c "([^"]*)"', guide_text(), re.M)
    assert commands, "the guide no longer has its `python -c` check"
    for command in commands:
        command = command.replace("src.enterprise", "pytest_enterprise")
        result = subprocess.run([sys.executable, "-c", command], cwd=project, env=env, capture_output=True, text=True, timeout=60)
        assert (result.returncode, result.stdout, result.stderr) == (0, "Enterprise modules ready\n", "")


def test_each_old_import_path_still_gives_the_same_objects():
    from pytest_enterprise import EnterpriseConfig as top_config
    from pytest_enterprise.config import EnterpriseConfig
    from pytest_enterprise.config.enterprise_config import EnterpriseConfig as guide_config
    from pytest_enterprise.integration import EnterpriseAnalyzerIntegration
    from pytest_enterprise.integration.analyzer import EnterpriseAnalyzerIntegration as guide_integration
    from pytest_enterprise.security import SupplyChainSecurity
    from pytest_enterprise.security.supply_chain import SupplyChainSecurity as guide_security
    from pytest_enterprise.telemetry import SixSigmaTelemetry
    from pytest_enterprise.telemetry.six_sigma import SixSigmaTelemetry as guide_telemetry

    assert EnterpriseConfig is guide_config is top_config
    assert EnterpriseAnalyzerIntegration is guide_integration
    assert SupplyChainSecurity is guide_security
    assert SixSigmaTelemetry is guide_telemetry
