"""The inventory: synthetic site folders written by hand, the real environment, another
interpreter (this one, and a fresh venv)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_enterprise.errors import InputError
from pytest_enterprise.supply_chain.inventory import (
    TEST_EXTRAS,
    UNKNOWN_VERSION,
    collect_inventory,
    collect_inventory_of,
    pypi_purl,
)

REPO = Path(__file__).resolve().parents[1]
SHA = "0123456789abcdef0123456789abcdef01234567"
ENV = {  # a fixed marker environment, so the graph tests do not depend on the host
    "implementation_name": "cpython",
    "implementation_version": "3.11.7",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "platform_release": "6.1",
    "platform_system": "Linux",
    "platform_version": "#1",
    "python_full_version": "3.11.7",
    "platform_python_implementation": "CPython",
    "python_version": "3.11",
    "sys_platform": "linux",
}
posix_only = pytest.mark.skipif(os.name != "posix", reason="uses shell scripts as fake interpreters")


def dist(
    site: Path,
    name: str,
    version: str = "1.0",
    *,
    requires: tuple[str, ...] = (),
    headers: tuple[str, ...] = (),
    direct_url: dict | str | None = None,
    entry_points: str | None = None,
) -> Path:
    """Write ``<name>-<version>.dist-info`` into ``site`` by hand."""
    folder = site / f"{name.replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True)
    lines = ["Metadata-Version: 2.4", f"Name: {name}", f"Version: {version}", *headers]
    lines += [f"Requires-Dist: {requirement}" for requirement in requires]
    (folder / "METADATA").write_text("\n".join(lines) + "\n\nThe long description.\n", encoding="utf-8")
    if direct_url is not None:
        text = direct_url if isinstance(direct_url, str) else json.dumps(direct_url)
        (folder / "direct_url.json").write_text(text, encoding="utf-8")
    if entry_points is not None:
        (folder / "entry_points.txt").write_text(entry_points, encoding="utf-8")
    return folder


def inventory(*sites: Path, root: Path | None = None, environment: dict | None = None):
    return collect_inventory(paths=[str(s) for s in sites], project_root=root, environment=environment or ENV)


def deps(component, name=None):
    return [d for d in component.dependencies if name is None or d.name == name]


# --------------------------------------------------------------------------------------------
# Names and purls


def test_names_are_canonical_and_purls_encoded(tmp_path):
    dist(tmp_path, "Foo_Bar.Baz", "2.0")
    dist(tmp_path, "local-thing", "1.0+local")
    found = inventory(tmp_path).by_name()
    assert sorted(found) == ["foo-bar-baz", "local-thing"]
    foo = found["foo-bar-baz"]
    assert (foo.display_name, foo.version) == ("Foo_Bar.Baz", "2.0")
    assert foo.purl == foo.bom_ref == "pkg:pypi/foo-bar-baz@2.0"
    assert found["local-thing"].purl == "pkg:pypi/local-thing@1.0%2Blocal"


def test_direct_installs_from_direct_url(tmp_path):
    vcs = {"url": "https://github.com/o/r.git", "vcs_info": {"vcs": "git", "commit_id": SHA}}
    dist(tmp_path, "from-git", direct_url=vcs)
    dist(tmp_path, "from-archive", direct_url={"url": "https://example.com/a b.tar.gz", "archive_info": {}})
    dist(tmp_path, "from-folder", direct_url={"url": "file:///src/folder", "dir_info": {}})
    dist(tmp_path, "from-edit", direct_url={"url": "file:///src/edit", "dir_info": {"editable": True}})
    dist(tmp_path, "from-pypi")
    dist(tmp_path, "broken", direct_url="{not json")
    result = inventory(tmp_path)
    found = result.by_name()
    assert {name: c.install for name, c in found.items()} == {
        "from-git": "vcs",
        "from-archive": "archive",
        "from-folder": "local",
        "from-edit": "editable",
        "from-pypi": "registry",
        "broken": "registry",
    }
    assert found["from-git"].purl == f"pkg:pypi/from-git@1.0?vcs_url=git%2Bhttps://github.com/o/r.git%40{SHA}"
    assert found["from-git"].direct_url == vcs
    assert found["from-archive"].purl == "pkg:pypi/from-archive@1.0?download_url=https://example.com/a%20b.tar.gz"
    assert found["from-folder"].purl == "pkg:pypi/from-folder@1.0?download_url=file:///src/folder"
    assert found["from-edit"].purl == "pkg:pypi/from-edit@1.0?download_url=file:///src/edit"
    assert found["from-pypi"].direct_url is None and found["broken"].direct_url is None
    assert result.problems == ("broken 1.0: malformed direct_url.json (Expecting property name enclosed "
                               "in double quotes: line 1 column 2 (char 1)); counted as a registry install",)


def test_purl_agrees_with_packageurl_python():
    packageurl = pytest.importorskip("packageurl")
    qualifiers = {"vcs_url": f"git+https://github.com/o/r@{SHA}", "download_url": "file:///a b/c#d?e&f=g"}
    expected = packageurl.PackageURL(type="pypi", name="foo", version="1.0+local", qualifiers=qualifiers)
    assert pypi_purl("foo", "1.0+local", qualifiers) == expected.to_string()


SAFE = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_~"
ALLOWED = set(SAFE + ":/@?=&%")


@given(st.text(alphabet=SAFE, min_size=1), st.text(alphabet=SAFE, min_size=1))
def test_purl_keeps_safe_characters(name, version):
    assert pypi_purl(name, version) == f"pkg:pypi/{name}@{version}"


@given(st.text(min_size=1), st.text(min_size=1), st.text())
def test_purl_encodes_everything_else(name, version, value):
    text = pypi_purl(name, version, {"download_url": value})
    assert set(text) <= ALLOWED  # no spaces, no non-ASCII
    head, _, query = text.partition("?")
    assert head.count("@") == 1 and "?" not in query and "#" not in text
    encoded_name, _, encoded_version = head.removeprefix("pkg:pypi/").partition("@")
    assert (unquote(encoded_name), unquote(encoded_version)) == (name, version)
    if value:
        key, _, encoded_value = query.partition("=")
        assert key == "download_url" and unquote(encoded_value) == value
        assert "&" not in encoded_value and "=" not in encoded_value
    else:
        assert query == ""


def test_repeated_purls_get_unique_bom_refs():
    # Names are unique in an inventory, so no environment repeats a purl; the helper is the
    # guarantee should that change (e.g. several roots).
    from pytest_enterprise.supply_chain.inventory import _unique_bom_refs
    from pytest_enterprise.supply_chain.model import Component

    twin = Component(name="a", display_name="a", version="1", purl="pkg:pypi/a@1", bom_ref="")
    root, components = _unique_bom_refs(twin, [twin, twin])
    assert [c.bom_ref for c in (root, *components)] == ["pkg:pypi/a@1", "pkg:pypi/a@1#2", "pkg:pypi/a@1#3"]


# --------------------------------------------------------------------------------------------
# Licenses


@pytest.mark.parametrize(
    ("headers", "expression", "licenses", "source"),
    [
        (("License-Expression: MIT OR Apache-2.0", "Classifier: License :: OSI Approved :: BSD License",
          "License: BSD"), "MIT OR Apache-2.0", (), "License-Expression"),
        (("Classifier: License :: OSI Approved :: MIT License",
          "Classifier: License :: OSI Approved :: Apache Software License",
          "Classifier: License :: OSI Approved", "Classifier: Programming Language :: Python",
          "License: Whatever"), None, ("MIT", "Apache Software License"), "classifier"),
        (("Classifier: License :: Other/Proprietary License",), None, ("Other/Proprietary License",), "classifier"),
        (("Classifier: License :: OSI Approved", "License: BSD-3-Clause"), None, ("BSD-3-Clause",), "License"),
        (("License: " + "x" * 101,), None, (), None),
        (("License: Copyright (c) somebody", "        Permission is hereby granted"), None, (), None),
        (("License: UNKNOWN",), None, (), None),
        ((), None, (), None),
    ],
    ids=["expression", "classifiers", "unmapped-classifier", "license-field", "long-field",
         "license-text", "unknown", "none"],
)
def test_license_precedence(tmp_path, headers, expression, licenses, source):
    dist(tmp_path, "licensed", headers=headers)
    (component,) = inventory(tmp_path).components
    assert (component.license_expression, component.licenses, component.license_source) == (
        expression, licenses, source)


def test_summary_and_homepage(tmp_path):
    urls = ("Project-URL: Source, https://s", "Project-URL: Home-Page, https://h")
    dist(tmp_path, "a", headers=("Summary: Does a.", *urls))
    dist(tmp_path, "b", headers=("Summary: UNKNOWN", "Home-page: https://b"))
    found = inventory(tmp_path).by_name()
    assert (found["a"].summary, found["a"].homepage) == ("Does a.", "https://h")
    assert (found["b"].summary, found["b"].homepage) == (None, "https://b")


# --------------------------------------------------------------------------------------------
# The dependency graph


def test_markers_extras_and_satisfaction(tmp_path):
    dist(tmp_path, "app", requires=(
        'old-only; python_version < "3.8"',
        'new-only>=1; python_version >= "3.8"',
        'win-only; sys_platform == "win32"',
        "lib[socks]>=2",
        "too-new>=5",
        "absent>=1",
        "pre>=1.0",
        "also-malformed >= ; bad",
    ))
    dist(tmp_path, "old-only")
    dist(tmp_path, "new-only")
    dist(tmp_path, "win-only")
    dist(tmp_path, "lib", "2.1", requires=('pysocks; extra == "socks"', 'chardet; extra == "charset"', "base"))
    dist(tmp_path, "pysocks")
    dist(tmp_path, "chardet")
    dist(tmp_path, "base")
    dist(tmp_path, "too-new", "4.0")
    dist(tmp_path, "pre", "2.0rc1")
    result = inventory(tmp_path)
    found = result.by_name()
    app = {d.name: d for d in found["app"].dependencies}
    assert [app["old-only"].active, app["new-only"].active, app["win-only"].active] == [False, True, False]
    assert app["new-only"].specifier == ">=1" and app["new-only"].marker == 'python_version >= "3.8"'
    assert app["lib"].extras == ("socks",) and app["lib"].satisfied
    assert (app["too-new"].installed, app["too-new"].satisfied) == (True, False)
    assert (app["absent"].installed, app["absent"].satisfied, app["absent"].active) == (False, False, True)
    assert app["pre"].satisfied  # prereleases count
    assert "also-malformed" not in app
    assert any(p.startswith("app 1.0: malformed requirement 'also-malformed >= ; bad'") for p in result.problems)
    assert found["lib"].requested_extras == ("socks",)
    lib = {d.name: d for d in found["lib"].dependencies}
    assert (lib["pysocks"].via_extra, lib["pysocks"].active) == ("socks", True)
    assert (lib["chardet"].via_extra, lib["chardet"].active) == ("charset", False)
    assert (lib["base"].via_extra, lib["base"].active) == (None, True)
    edges = result.edges()
    assert ("pkg:pypi/lib@2.1", "pkg:pypi/pysocks@1.0") in edges
    assert ("pkg:pypi/lib@2.1", "pkg:pypi/chardet@1.0") not in edges
    assert ("pkg:pypi/app@1.0", "pkg:pypi/win-only@1.0") not in edges


def test_the_environment_decides_markers(tmp_path):
    dist(tmp_path, "app", requires=('win-only; sys_platform == "win32"',))
    dist(tmp_path, "win-only")
    windows = inventory(tmp_path, environment={**ENV, "sys_platform": "win32"})
    assert deps(windows.by_name()["app"])[0].active


def test_extras_follow_chains_and_split_markers(tmp_path):
    # app asks mid[x]; mid's x extra asks leaf[y]; a marker naming two extras splits in two.
    dist(tmp_path, "app", requires=("mid[X]",))
    dist(tmp_path, "mid", requires=('leaf[y]; extra == "x"', 'other; extra == "x" or extra == "z"'))
    dist(tmp_path, "leaf", requires=('deep; extra == "y"',))
    dist(tmp_path, "deep")
    dist(tmp_path, "other")
    found = inventory(tmp_path).by_name()
    assert found["mid"].requested_extras == ("x",)
    assert found["leaf"].requested_extras == ("y",)
    assert deps(found["leaf"], "deep")[0].active
    other = deps(found["mid"], "other")
    assert [(d.via_extra, d.active) for d in other] == [("x", True), ("z", False)]


def test_undefined_marker_is_a_problem_not_a_crash(tmp_path):
    dist(tmp_path, "app", requires=('dep; python_version ~= "3"',))
    result = inventory(tmp_path)
    assert not deps(result.components[0])[0].active
    assert len(result.problems) == 1 and "cannot evaluate marker" in result.problems[0]


def test_unreadable_distributions_are_problems(tmp_path):
    dist(tmp_path, "fine")
    (tmp_path / "nameless-1.0.dist-info").mkdir()
    (tmp_path / "nameless-1.0.dist-info" / "METADATA").write_text("Version: 1.0\n", encoding="utf-8")
    result = inventory(tmp_path)
    assert [c.name for c in result.components] == ["fine"]
    assert result.problems == (f"{tmp_path / 'nameless-1.0.dist-info'}: metadata without Name; skipped",)


def test_shadowed_duplicates(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    dist(first, "twin", "2.0")
    dist(second, "twin", "1.0")
    (component,) = inventory(first, second).components
    assert component.version == "2.0"
    assert component.location == str(first / "twin-2.0.dist-info")
    assert component.shadowed == (str(second / "twin-1.0.dist-info"),)
    (component,) = inventory(second, first).components
    assert (component.version, component.shadowed) == ("1.0", (str(first / "twin-2.0.dist-info"),))


# --------------------------------------------------------------------------------------------
# The root and the test scope


def pyproject(folder: Path, body: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "pyproject.toml").write_text(body, encoding="utf-8")
    return folder


PROJECT = """
[project]
name = "My_Project"
version = "1.2"
description = "Mine."
license = "MIT"
dependencies = ["runlib>=1", "shared", 'winlib; sys_platform == "win32"']
[project.optional-dependencies]
test = ["testlib", "shared"]
Docs = ["docslib"]
"""


def test_root_scopes_and_no_duplicate(tmp_path):
    site = tmp_path / "site"
    dist(site, "my-project", "1.2", direct_url={"url": "file:///src", "dir_info": {"editable": True}})
    dist(site, "runlib", requires=("runchild",))
    dist(site, "runchild")
    dist(site, "shared")
    dist(site, "testlib", requires=("testchild", "shared"))
    dist(site, "testchild")
    dist(site, "docslib")
    dist(site, "pytest", "8.4", requires=("pluggy",))
    dist(site, "pluggy")
    dist(site, "pytest-thing", entry_points="[pytest11]\nthing = pytest_thing.plugin\n", requires=("thingdep",))
    dist(site, "thingdep")
    dist(site, "unrelated-tool")
    result = inventory(site, root=pyproject(tmp_path / "proj", PROJECT))
    root = result.root
    assert (root.name, root.display_name, root.version, root.scope) == ("my-project", "My_Project", "1.2", "root")
    assert (root.summary, root.license_expression, root.license_source) == ("Mine.", "MIT", "License-Expression")
    assert root.install == "editable" and root.purl == "pkg:pypi/my-project@1.2?download_url=file:///src"
    assert "my-project" not in result.by_name()
    assert [(d.name, d.via_extra, d.active) for d in root.dependencies] == [
        ("runlib", None, True), ("shared", None, True), ("winlib", None, False),
        ("docslib", "docs", True), ("testlib", "test", True), ("shared", "test", True),
    ]
    scopes = {c.name: c.scope for c in result.components}
    assert scopes == {
        "runlib": "runtime", "runchild": "runtime", "shared": "runtime", "docslib": "runtime",
        "testlib": "test", "testchild": "test", "pytest": "test", "pluggy": "test",
        "pytest-thing": "test", "thingdep": "test", "unrelated-tool": "runtime",
    }
    assert ("pkg:pypi/my-project@1.2?download_url=file:///src", "pkg:pypi/testlib@1.0") in result.edges()
    assert "test" in TEST_EXTRAS


def test_without_root_only_test_roots_decide(tmp_path):
    dist(tmp_path, "pytest", requires=("pluggy", "shared"))
    dist(tmp_path, "pluggy")
    dist(tmp_path, "shared")
    dist(tmp_path, "app", requires=("shared",))
    scopes = {c.name: c.scope for c in inventory(tmp_path).components}
    # "app" is runtime (no test root reaches it), so what it needs is runtime too (issue 10).
    assert scopes == {"pytest": "test", "pluggy": "test", "shared": "runtime", "app": "runtime"}


_NAMES = [f"p{i}" for i in range(8)]


@settings(deadline=None, max_examples=60)
@given(
    edges=st.sets(st.tuples(st.sampled_from(_NAMES), st.sampled_from(_NAMES)), max_size=16),
    plugins=st.sets(st.sampled_from(_NAMES), max_size=2),
    runtime=st.sets(st.sampled_from(_NAMES), max_size=3),
    tests=st.sets(st.sampled_from(_NAMES), max_size=3),
    with_pytest=st.booleans(),
)
def test_scope_property_no_runtime_component_depends_on_a_test_one(edges, plugins, runtime, tests, with_pytest):
    import tempfile

    from pytest_enterprise.supply_chain.inventory import _build

    names = _NAMES + (["pytest"] if with_pytest else [])
    records = []  # what the metadata reader gives _build, without writing a site folder
    for name in names:
        requires = sorted(t for s, t in edges if s == name and t != name)
        if name == "pytest":
            requires = ["p0"]
        plugin = "[pytest11]\nx = x\n" if name in plugins else None
        metadata = {"Name": name, "Version": "1.0", "Requires-Dist": requires}
        records.append({"location": f"/site/{name}.dist-info", "metadata": metadata, "entry_points.txt": plugin})
    test_extra = "".join(f'"{n}", ' for n in sorted(tests))
    body = f'[project]\nname = "proj"\nversion = "1"\ndependencies = {sorted(runtime)!r}\n'.replace("'", '"')
    body += f"[project.optional-dependencies]\ntest = [{test_extra}]\n"
    with tempfile.TemporaryDirectory() as folder:
        root = pyproject(Path(folder) / "proj", body)
        result = _build(records, environment=ENV, facts={}, project_root=root)
    scope = {c.bom_ref: c.scope for c in result.components}
    by_name = result.by_name()
    for source, target in result.edges():
        if scope.get(source) == "runtime":
            assert scope[target] != "test", (source, target)
    graph = {c.name: [d.name for d in c.dependencies if d.active and d.name in by_name] for c in result.components}

    def reach(starts):
        seen, stack = set(), list(starts)
        while stack:
            name = stack.pop()
            if name not in seen:
                seen.add(name)
                stack.extend(graph.get(name, ()))
        return seen

    for name in reach(runtime):
        assert by_name[name].scope == "runtime", name
    test_roots = set(plugins) | set(tests) | ({"pytest"} if with_pytest else set())
    for component in result.components:
        if component.scope == "test":
            assert component.name in reach(test_roots), component.name


def test_root_versions(tmp_path):
    site = tmp_path / "site"
    dist(site, "dyn", "3.0")
    dynamic = pyproject(tmp_path / "dyn", '[project]\nname = "dyn"\ndynamic = ["version"]\n')
    assert inventory(site, root=dynamic).root.version == "3.0"
    nowhere = pyproject(tmp_path / "nowhere", '[project]\nname = "nowhere"\ndynamic = ["version"]\n')
    assert inventory(site, root=nowhere).root.version == UNKNOWN_VERSION
    stale = pyproject(tmp_path / "stale", '[project]\nname = "dyn"\nversion = "3.1"\n')
    result = inventory(site, root=stale)
    assert result.root.version == "3.1" and result.components == ()
    assert result.problems == (f"{stale / 'pyproject.toml'}: version 3.1 but dyn 3.0 is installed",)


def test_dynamic_dependencies_come_from_the_installed_copy(tmp_path):
    site = tmp_path / "site"
    dist(site, "proj", requires=("a", 'b; extra == "test"'))
    dist(site, "a")
    dist(site, "b")
    body = '[project]\nname = "proj"\nversion = "1.0"\ndynamic = ["dependencies", "optional-dependencies"]\n'
    root = pyproject(tmp_path / "p", body)
    result = inventory(site, root=root)
    found = [(d.name, d.via_extra, d.active) for d in result.root.dependencies]
    assert found == [("a", None, True), ("b", "test", True)]
    assert {c.name: c.scope for c in result.components} == {"a": "runtime", "b": "test"}


def test_root_problems(tmp_path):
    assert inventory(tmp_path, root=tmp_path / "missing").problems == (
        f"{tmp_path / 'missing' / 'pyproject.toml'}: not found; the inventory has no root component",)
    tool_only = pyproject(tmp_path / "tool", "[tool.poetry]\nname = 'x'\n")
    assert inventory(tmp_path, root=tool_only).root is None
    bad = pyproject(tmp_path / "bad", "[project\n")
    with pytest.raises(InputError, match=r"pyproject.toml: invalid TOML \(.*line 1"):
        inventory(tmp_path, root=bad)
    odd = pyproject(tmp_path / "odd", '[project]\nname = "odd"\nversion = "1"\ndependencies = "x"\n'
                                      '[project.optional-dependencies]\nt = ["ok", "bad >= ;"]\n')
    result = inventory(tmp_path, root=odd)
    assert [d.name for d in result.root.dependencies] == ["ok"]
    assert len(result.problems) == 2


# --------------------------------------------------------------------------------------------
# The real environment and other interpreters


def test_real_environment():
    plain = collect_inventory()
    assert plain.by_name()["pytest"].scope == "test"  # no root: pytest is a test root
    assert plain.python.startswith(("CPython ", "PyPy ")) and plain.interpreter == sys.executable
    assert plain == collect_inventory()  # deterministic
    assert [(c.name, c.version) for c in plain.components] == sorted((c.name, c.version) for c in plain.components)
    rooted = collect_inventory(project_root=REPO)
    assert rooted.root is not None and rooted.root.name == "pytest-enterprise"
    assert "pytest-enterprise" not in rooted.by_name()
    assert rooted.by_name()["hypothesis"].scope == "test"  # only the test extra brings it
    assert rooted.by_name()["pytest"].scope == "runtime"  # the plugin itself needs pytest


def child_path(python: str) -> list[str]:
    code = "import json, sys; print(json.dumps(sys.path[1:]))"
    return json.loads(subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout)


def test_another_interpreter_reads_like_this_one():
    theirs = collect_inventory_of(sys.executable, project_root=REPO)
    assert theirs == collect_inventory(paths=child_path(sys.executable), project_root=REPO)


def test_a_fresh_venv(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    (site,) = (p for p in child_path(str(python)) if p.endswith("site-packages") and p.startswith(str(venv)))
    dist(Path(site), "only-here", "0.1", requires=("missing-dep",))
    for target in (venv, python):  # the venv folder or its interpreter
        result = collect_inventory_of(target)
        assert [c.name for c in result.components] == ["only-here"]
        assert result.interpreter == str(python) and not deps(result.components[0])[0].installed


def test_interpreter_errors(tmp_path):
    with pytest.raises(InputError, match=r"nope/python: no such interpreter$"):
        collect_inventory_of(tmp_path / "nope" / "python")
    with pytest.raises(InputError, match="neither bin/python nor Scripts/python.exe"):
        collect_inventory_of(tmp_path)


@posix_only
@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("echo not json", "unreadable answer from the inventory probe"),
        ("echo '{\"distributions\": 1}'", "unreadable answer from the inventory probe"),
        ("echo oops >&2; exit 3", r"the inventory probe failed \(oops\)"),
        ("exec sleep 5", r"the interpreter did not answer within 0.3 s"),
    ],
    ids=["garbage", "wrong-shape", "fails", "hangs"],
)
def test_bad_interpreters(tmp_path, script, message):
    fake = tmp_path / "python"
    fake.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    fake.chmod(0o755)
    with pytest.raises(InputError, match=f"^{fake}: {message}"):
        collect_inventory_of(fake, timeout=0.3)


@posix_only
def test_not_executable(tmp_path):
    fake = tmp_path / "python"
    fake.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match=r"cannot run this interpreter \(Permission denied\)"):
        collect_inventory_of(fake)


def test_authors_and_maintainers_from_the_metadata(tmp_path):
    from pytest_enterprise.supply_chain.model import Party

    dist(tmp_path, "a", headers=("Author: Ann Example", "Author-email: ann@example.org"))
    dist(tmp_path, "b", headers=('Author-email: "Smith, J" <j@example.org>, Team <t@example.org>',
                                 "Maintainer: UNKNOWN", "Maintainer-email: m@example.org"))
    dist(tmp_path, "c", headers=("Author: UNKNOWN",))
    project = '[project]\nname = "p"\nversion = "1"\nauthors = [{name = "Ann"}, {name = "Bob", email = "bob@example.org"}, {email = "c@example.org"}]\nmaintainers = [{name = "Team"}]\n'
    found = inventory(tmp_path, root=pyproject(tmp_path / "proj", project))
    a, b, c = (found.by_name()[n] for n in "abc")
    assert a.authors == (Party("Ann Example", "ann@example.org"),) and a.maintainers == () and a.suppliers == a.authors
    assert b.authors == (Party("Smith, J", "j@example.org"), Party("Team", "t@example.org"))
    assert b.maintainers == (Party(None, "m@example.org"),) and b.suppliers == b.maintainers
    assert c.authors == c.maintainers == c.suppliers == ()
    assert found.root.authors == (Party("Ann", None), Party("Bob", "bob@example.org"), Party(None, "c@example.org"))
    assert found.root.maintainers == (Party("Team", None),)


def test_credentials_in_direct_url_json_are_redacted(tmp_path):
    dist(tmp_path, "gitdep", direct_url={"url": "https://ci:S3CRET@git.example/o/gitdep.git",
                                         "vcs_info": {"vcs": "git", "commit_id": SHA}})
    component = inventory(tmp_path).by_name()["gitdep"]
    assert component.direct_url["url"] == "https://***@git.example/o/gitdep.git"
    assert "S3CRET" not in component.purl
