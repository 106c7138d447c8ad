"""The shape of the house (docs/architecture.md), checked: layers, cycles, the request
kept in the web layer, local imports, and templates that never build cache keys."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "timebank"


def _modules(*folders: str):
    for folder in folders:
        for path in sorted((PACKAGE / folder).rglob("*.py")):
            yield path, ast.parse(path.read_text())


def test_the_import_contracts_hold():
    """web → core → infra, nothing imports a routes module, and the domain and the
    infrastructure import nothing that reads a request (pyproject.toml's contracts)."""
    linter = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    done = subprocess.run([linter], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "broken" in done.stdout and " 0 broken" in done.stdout


def test_no_import_cycle_among_the_project_modules():
    """Local imports count (grimp reads them); imports only for type checking do not."""
    graph = grimp.build_graph("timebank", exclude_type_checking_imports=True)
    modules = sorted(graph.modules)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(module: str) -> None:  # Tarjan's strongly connected components
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in sorted(graph.find_modules_directly_imported_by(module)):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 5000))
    for module in modules:
        if module not in index:
            visit(module)
    assert cycles == []


# (``has_request_context`` reads nothing of the request: core.links asks it whether a
# link needs the site's own base address.)
FLASK_REQUEST_NAMES = {"request", "g", "session"}


def test_only_the_web_layer_reads_the_request():
    """No module of the domain or the infrastructure reads the request's bank, user, ``g``
    or session: the bank, the person and the time are passed to them."""
    offenders = []
    for path, tree in _modules("core", "infra"):
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "flask":
                named = {alias.name for alias in node.names} & FLASK_REQUEST_NAMES
                if named:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {sorted(named)}")
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    ("flask_login", "timebank.web")):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.module}")
            if isinstance(node, ast.Name) and node.id in ("current_user", "current_bank",
                                                          "current_bank_id"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.id}")
            # Flask's url_for fills in the request's bank: the domain builds its links in
            # core/links.py, always naming the bank.
            # (infra/maps.py names static files only: they have no bank.)
            if (isinstance(node, ast.ImportFrom) and node.module == "flask"
                    and any(a.name == "url_for" for a in node.names)
                    and path.is_relative_to(PACKAGE / "core")
                    and path != PACKAGE / "core" / "links.py"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: url_for")
    assert offenders == []


def test_imports_are_at_the_top_of_each_module():
    """A function-local import hides a cycle or a cost; none is left but the root
    package's, which says why."""
    found = []
    for path, tree in _modules("."):
        lines = path.read_text().splitlines()
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    said = lines[inner.lineno - 2].strip().startswith("#")
                    if not said:
                        found.append(f"{path.relative_to(ROOT)}:{inner.lineno}")
    assert found == []


REMEMBER = re.compile(r"\{%-?\s*call\s+remember\((?P<args>[^)]*)\)")


def test_no_template_builds_a_cache_key():
    """A cached block names the values it draws from (``remember(row, form)``); the key is
    derived from them in web/caching.py, never written out in a template."""
    calls, bad = 0, []
    for path in sorted((PACKAGE / "templates").rglob("*.html")):
        for match in REMEMBER.finditer(path.read_text()):
            calls += 1
            args = [a.strip() for a in match["args"].split(",")]
            if not all(re.fullmatch(r"[a-z_][a-z0-9_]*", a) for a in args):
                bad.append(f"{path.relative_to(PACKAGE)}: {match[0]}")
    assert calls >= 5 and bad == []


def test_a_derived_key_names_every_field_and_refuses_what_it_cannot_name(app):
    """Two rows differing in any field draw under different keys; an ORM object (which
    may change under the same identity) or a form with typed words is never keyed."""
    import datetime
    from dataclasses import dataclass

    from timebank.core.models import Member
    from timebank.web.caching import Unkeyable, key_of

    @dataclass(frozen=True)
    class Row:
        id: int
        name: str
        when: datetime.date
        tags: tuple

    one = Row(1, "Ann", datetime.date(2026, 1, 5), ("garden",))
    assert key_of(one) == key_of(Row(1, "Ann", datetime.date(2026, 1, 5), ("garden",)))
    for other in (Row(2, "Ann", one.when, one.tags), Row(1, "Anne", one.when, one.tags),
                  Row(1, "Ann", datetime.date(2026, 1, 6), one.tags),
                  Row(1, "Ann", one.when, ("garden", "cooking"))):
        assert key_of(other) != key_of(one)
    with pytest.raises(Unkeyable):
        key_of(Member(display_name="Ann"))
    with pytest.raises(Unkeyable):
        key_of([one, object()])


def test_two_templates_never_share_a_remembered_block(app, tmp_path):
    """The same block drawn from the same values in two templates is two fragments: the
    key names the template and line, not only the block's code (which Python compares
    by its bytecode, so two templates' blocks can be equal)."""
    from jinja2 import FileSystemLoader

    block = "{% call remember(form) %}{{ shown }}{% endcall %}"
    (tmp_path / "a.html").write_text(block)
    (tmp_path / "b.html").write_text(block)
    env = app.jinja_env.overlay(loader=FileSystemLoader(str(tmp_path)))
    with app.test_request_context("/"):
        first = env.get_template("a.html").render(form=("same",), shown="A own words")
        second = env.get_template("b.html").render(form=("same",), shown="B own words")
        again = env.get_template("a.html").render(form=("same",), shown="changed")
    assert (first, second) == ("A own words", "B own words")
    assert again == "A own words"  # remembered: the values named are the same
