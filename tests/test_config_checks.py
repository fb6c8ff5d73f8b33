"""Graph checks: warnings next to errors, positioned, and `validate` exit codes for CI."""

from __future__ import annotations

import textwrap
from pathlib import Path

from agents_app.config import ConfigIssue, check_config, load_config
from tests.test_cli import agents_app

TOOLS = frozenset({"how_many_jokes"})


def write(tmp_path: Path, yaml: str, name: str = "agents.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(yaml).lstrip("\n"), encoding="utf-8")
    return path


GRAPH = """
    version: 1
    start: triage
    vars:
      service: Demo
      unused_thing: x
    agents:
      triage:
        name: Triage
        instructions: Front desk of {service}.
        handoffs: [joker, poet]
      joker:
        name: Joker
        description: jokes
        instructions: Jokes.
      poet:
        name: joker
        instructions: Poems.
      lonely:
        name: Lonely
        description: nobody calls me
        instructions: Alone.
        handoffs: [joker]
"""


def test_warnings_are_positioned_and_do_not_stop_loading(tmp_path: Path) -> None:
    path = write(tmp_path, GRAPH)
    report = check_config(path, tool_names=TOOLS)

    assert report.config is not None and report.errors == ()
    assert load_config(path, tool_names=TOOLS).start == "triage"  # warnings are not fatal
    assert all(w.severity == "warning" for w in report.warnings)
    got = [(w.line, w.column, w.path) for w in report.warnings]
    assert got == [
        (5, 3, "vars.unused_thing"),
        (15, 3, "agents.poet"),
        (16, 5, "agents.poet.name"),
        (18, 3, "agents.lonely"),
    ]
    text = [str(w) for w in report.warnings]
    assert text[0] == (
        f"{path}:5:3: warning: vars.unused_thing: var 'unused_thing' is not used by any "
        "agent's instructions"
    )
    assert "has no description, but triage hands off to it" in text[1]
    assert "also used by agent 'joker'" in text[2]
    assert "'lonely' is unreachable from start 'triage'" in text[3]
    assert "add 'lonely' to the handoffs of 'triage'" in text[3]


def test_reachability_follows_handoff_chains(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        start: a
        agents:
          a: {name: A, instructions: x, handoffs: [b]}
          b: {name: B, description: b, instructions: x, handoffs: [c]}
          c: {name: C, description: c, instructions: x}
        """,
    )
    assert check_config(path, tool_names=TOOLS).warnings == ()


def test_warnings_come_with_errors_and_unused_vars_wait_for_every_prompt(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        start: triage
        vars: {service: Demo}
        agents:
          triage: {name: Triage, instructions_file: prompts/triage.md, tools: [how_many_joke]}
          lonely: {name: Lonely, description: d, instructions: x}
        """,
    )
    report = check_config(path, tool_names=TOOLS)
    assert report.config is None
    assert [str(e) for e in report.errors] == [
        f"{path}:5:45: agents.triage.instructions_file: file not found: "
        f"{tmp_path / 'prompts' / 'triage.md'}",
        f"{path}:5:72: agents.triage.tools[0]: unknown tool 'how_many_joke' "
        "(did you mean 'how_many_jokes'?)",
    ]
    # 'service' may be used by the prompt that could not be read: no unused-var guess.
    assert [w.path for w in report.warnings] == ["agents.lonely"]
    assert [i.severity for i in report.issues] == ["error", "error", "warning"]


def test_error_and_warning_labels() -> None:
    error = ConfigIssue("a.yaml", 1, 2, "start", "no agent 'x'")
    warning = ConfigIssue("a.yaml", 3, 4, "vars.x", "unused", "warning")
    assert str(error) == "a.yaml:1:2: start: no agent 'x'"
    assert str(warning) == "a.yaml:3:4: warning: vars.x: unused"


# -- the CLI ---------------------------------------------------------------------------


def test_validate_prints_warnings_and_strict_fails_on_them(tmp_path: Path) -> None:
    path = write(tmp_path, GRAPH)
    lenient = agents_app("validate", str(path))
    assert lenient.returncode == 0, lenient.stderr
    assert "ok (4 agents, start: triage, 4 warning(s))" in lenient.stdout
    assert f"{path}:18:3: warning: agents.lonely:" in lenient.stderr

    strict = agents_app("validate", str(path), "--strict")
    assert strict.returncode == 1
    assert f"{path}:18:3: warning: agents.lonely:" in strict.stderr


def test_validate_shipped_config_is_clean_even_strict() -> None:
    result = agents_app("validate", "--strict")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "routing examples" in result.stdout


def test_validate_checks_routing_examples_beside_the_config(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        start: triage
        agents:
          triage: {name: Triage, instructions: x, handoffs: [joker]}
          joker: {name: Joker, description: jokes, instructions: x}
        """,
    )
    write(
        tmp_path,
        """
        version: 1
        examples:
          - input: Tell me a joke
            expect: jokr
          - inpt: hello
            expect: triage
        """,
        name="routing-examples.yaml",
    )
    result = agents_app("validate", str(path))
    assert result.returncode == 1
    examples = tmp_path / "routing-examples.yaml"
    lines = result.stderr.splitlines()
    assert lines[:2] == [
        f"{examples}:4:13: examples[0].expect: no agent 'jokr' (did you mean 'joker'?)",
        f"{examples}:5:5: examples[1].input: required key 'input' is missing",
    ]
    assert f"{examples}:5:5: examples[1].inpt: unknown key 'inpt' (did you mean 'input'?)" in (
        lines
    )
    assert lines[-1] == f"{path}: 3 error(s), 0 warning(s)"
