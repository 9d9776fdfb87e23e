"""The README's quick start, as a user pastes it: both commands, one after the other, in one shell.

Running them for real needs pip and the network, and the demo alone takes longer than this whole
module should. What broke for users was the shell state between the two commands (the first left
them in ``examples/demo``, so the second failed), so that is what is checked here: the commands
run in bash from the repository root with ``pip``, ``enterprise`` and ``python`` replaced by
functions that print where they were called and with what.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")


def quick_start_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)]


def run_in_one_shell(commands: list[str]) -> list[str]:
    """The commands pasted one after the other into a fresh bash in the repository root, with
    the programs they call stubbed; returns what the stubs and the shell's final `pwd` said."""
    stubs = (
        'pip() { echo "pip|$PWD|$*"; }\n'
        'enterprise() { echo "enterprise|$PWD|$*"; return 1; }\n'  # the demo exits 1 on purpose
        'python() { echo "python|$PWD|$*"; }\n'
    )
    script = stubs + "\n".join(commands) + '\necho "shell|$PWD|"\n'
    result = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=30)
    assert result.stderr == "", result.stderr
    return result.stdout.splitlines()


def test_the_quick_start_has_two_commands():
    commands = quick_start_commands()
    assert len(commands) == 2, commands
    assert all("\n" not in command for command in commands)  # each is pasted as one line


def test_both_commands_work_pasted_into_one_shell():
    first, second = quick_start_commands()
    calls = [line.split("|") for line in run_in_one_shell([first, second])]
    where = {(program, args.split(" ")[0] if args else ""): Path(cwd) for program, cwd, args in calls}
    # The demo runs in examples/demo, which exists there with its own config...
    demo = where[("enterprise", "test")]
    assert demo == ROOT / "examples" / "demo"
    assert (demo / "enterprise-config.yaml").is_file()
    # ...and everything else, the second command included, from the repository root.
    assert [program for program, _, _ in calls] == ["pip", "enterprise", "pip", "python", "shell"]
    assert where[("pip", "install")] == ROOT
    assert where[("python", "-m")] == ROOT and where[("shell", "")] == ROOT
    assert (ROOT / "pyproject.toml").is_file()  # what `pip install -e .` and pytest need there


def test_the_first_command_leaves_the_shell_where_it_was():
    first, _ = quick_start_commands()
    assert run_in_one_shell([first])[-1] == f"shell|{ROOT}|"


def test_the_extras_the_commands_install_exist():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    optional = pyproject.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    for command in quick_start_commands():
        for extra in re.findall(r'"\.\[(\w+)\]"', command):
            assert re.search(rf"^{extra} = \[", optional, flags=re.MULTILINE), extra


def test_the_output_the_readme_promises_is_where_the_command_writes():
    first, _ = quick_start_commands()
    words = shlex.split(first.replace("(", " ").replace(")", " "))
    folder = words[words.index("cd") + 1]
    output = words[words.index("--output") + 1]
    assert f"writes `{folder}/{output}`" in README.read_text(encoding="utf-8")
