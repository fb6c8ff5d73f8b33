"""Broken agents.yaml files: every problem at its exact file:line:column, all at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from agents_app.config import (
    ConfigError,
    ConfigIssue,
)
from tests.config_helpers import issues_of, write

# -- broken configs: exact positions ----------------------------------------------------


@dataclass(frozen=True)
class Expected:
    file: str  # relative to tmp_path
    line: int
    column: int
    path: str
    fragments: tuple[str, ...]


@dataclass(frozen=True)
class Case:
    id: str
    yaml: str
    expected: list[Expected]
    files: dict[str, str] = field(default_factory=dict)


CASES = [
    Case(
        "unknown_key_did_you_mean",
        """
        version: 1
        start: triage
        agents:
          triage:
            name: Triage
            instructions: Route.
            instructons: Route.
        """,
        [
            Expected(
                "agents.yaml",
                7,
                5,
                "agents.triage.instructons",
                ("unknown key 'instructons'", "(did you mean 'instructions'?)"),
            )
        ],
    ),
    Case(
        "unknown_key_in_nested_model_settings",
        """
        version: 1
        start: triage
        defaults: {model_settings: {temprature: 0.3}}
        agents:
          triage: {name: Triage, instructions: Route.}
        """,
        [
            Expected(
                "agents.yaml",
                3,
                29,
                "defaults.model_settings.temprature",
                ("unknown key 'temprature'", "(did you mean 'temperature'?)"),
            )
        ],
    ),
    Case(
        "unknown_handoff_agent",
        """
        version: 1
        start: triage
        agents:
          triage:
            name: Triage
            instructions: Route.
            handoffs: [jokr]
          joker:
            name: Joker
            instructions: Joke.
        """,
        [
            Expected(
                "agents.yaml",
                7,
                16,
                "agents.triage.handoffs[0]",
                ("unknown agent 'jokr'", "(did you mean 'joker'?)"),
            )
        ],
    ),
    Case(
        "unknown_tool",
        """
        version: 1
        start: joker
        agents:
          joker:
            name: Joker
            instructions: Joke.
            tools:
              - how_many_jokes
              - how_many_joke
        """,
        [
            Expected(
                "agents.yaml",
                9,
                9,
                "agents.joker.tools[1]",
                ("unknown tool 'how_many_joke'", "(did you mean 'how_many_jokes'?)"),
            )
        ],
    ),
    Case(
        "unknown_var_in_inline_block_scalar",
        """
        version: 1
        start: triage
        vars:
          service_name: Demo
        agents:
          triage:
            name: Triage
            instructions: |  # a {comment} on the header line is not content
              Welcome to {service_name}!
              Braces {{like this}} are literal; {servce_name} is a typo.
        """,
        [
            Expected(
                "agents.yaml",
                10,
                41,
                "agents.triage.instructions",
                ("unknown var 'servce_name'", "(did you mean 'service_name'?)"),
            )
        ],
    ),
    Case(
        "unknown_var_in_flow_quoted_scalar",
        """
        version: 1
        start: triage
        vars: {name: Demo}
        agents:
          triage: {name: Triage, instructions: "Hi {nme}"}
        """,
        [
            Expected(
                "agents.yaml",
                5,
                44,
                "agents.triage.instructions",
                ("unknown var 'nme'", "(did you mean 'name'?)"),
            )
        ],
    ),
    Case(
        "unknown_var_in_instructions_file",
        """
        version: 1
        start: triage
        vars: {service_name: Demo}
        agents:
          triage:
            name: Triage
            instructions_file: prompts/triage.md
        """,
        [
            Expected(
                "prompts/triage.md",
                2,
                22,
                "agents.triage.instructions_file",
                ("unknown var 'user_nme'", "define it under 'vars'"),
            ),
            Expected(
                "prompts/triage.md",
                3,
                9,
                "agents.triage.instructions_file",
                ("'{\"k\": 1}' is not a placeholder name", "'{{' and '}}'"),
            ),
        ],
        files={
            "prompts/triage.md": """
            You work for {service_name}.
            Reply in {{JSON}} to {user_nme}.
            Example {"k": 1}
            """
        },
    ),
    Case(
        "stray_brace_in_folded_scalar",
        """
        version: 1
        start: triage
        agents:
          triage:
            name: Triage
            instructions: >
              Reply with a } brace.
        """,
        [
            Expected(
                "agents.yaml",
                7,
                20,
                "agents.triage.instructions",
                ("Single '}'", "literal brace"),
            )
        ],
    ),
    Case(
        "missing_instructions_file",
        """
        version: 1
        start: triage
        agents:
          triage:
            name: Triage
            instructions_file: prompts/triag.md
        """,
        [
            Expected(
                "agents.yaml",
                6,
                24,
                "agents.triage.instructions_file",
                ("file not found", "prompts/triag.md", "(did you mean 'triage.md'?)"),
            )
        ],
        files={"prompts/triage.md": "Route."},
    ),
    Case(
        "non_ascii_agent_id",
        """
        version: 1
        start: triage
        agents:
          triage:
            name: Triage
            instructions: Route.
            handoffs: [Шутник]
          Шутник:
            name: Шутник
            instructions: Шути.
        """,
        [
            Expected(
                "agents.yaml",
                8,
                3,
                "agents.Шутник",
                ("agent id 'Шутник' must be ASCII snake_case", "transfer_to_", "collide"),
            )
        ],
    ),
    Case(
        "ascii_agent_id_with_suggestion",
        """
        version: 1
        start: Research-Bot
        agents:
          Research-Bot: {name: Researcher, instructions: Look it up.}
        """,
        [
            Expected(
                "agents.yaml",
                4,
                3,
                "agents.Research-Bot",
                ("must be ASCII snake_case", "(did you mean 'research_bot'?)"),
            )
        ],
    ),
    Case(
        "yaml_syntax_unclosed_flow_sequence",
        """
        version: 1
        start: triage
        agents:
          triage:
            name: Triage
            instructions: Route.
            handoffs: [joker
        """,
        [
            Expected(
                "agents.yaml",
                8,
                1,
                "(syntax)",
                ("expected ',' or ']'", "started at 7:15"),
            )
        ],
    ),
    Case(
        "yaml_syntax_mapping_value",
        """
        version: 1
        start: triage
        agents:
          triage:
            name: Triage: the router
            instructions: Route.
        """,
        [Expected("agents.yaml", 5, 17, "(syntax)", ("mapping values are not allowed",))],
    ),
    Case(
        "yaml_duplicate_key",
        """
        version: 1
        start: triage
        start: joker
        agents:
          triage: {name: Triage, instructions: Route.}
        """,
        [Expected("agents.yaml", 3, 1, "(syntax)", ('duplicate key "start"',))],
    ),
    Case(
        "wrong_types",
        """
        version: 1
        start: triage
        agents:
          triage:
            name: Triage
            instructions: Route.
            handoffs: joker
            model_settings:
              temperature: warm
              parallel_tool_calls: yes
        """,
        [
            Expected(
                "agents.yaml",
                7,
                15,
                "agents.triage.handoffs",
                ("expected a list", "(got 'joker')"),
            ),
            Expected(
                "agents.yaml",
                9,
                20,
                "agents.triage.model_settings.temperature",
                ("expected a number", "(got 'warm')"),
            ),
            Expected(
                "agents.yaml",
                10,
                28,
                "agents.triage.model_settings.parallel_tool_calls",
                ("expected true or false", "(got 'yes')"),
            ),
        ],
    ),
    Case(
        "out_of_range_and_bad_version",
        """
        version: 2
        start: triage
        defaults:
          model_settings: {temperature: 3}
        agents:
          triage: {name: Triage, instructions: Route.}
        """,
        [
            Expected("agents.yaml", 1, 10, "version", ("input should be 1", "(got 2)")),
            Expected(
                "agents.yaml",
                4,
                33,
                "defaults.model_settings.temperature",
                ("less than or equal to 2", "(got 3)"),
            ),
        ],
    ),
    Case(
        "start_not_an_agent",
        """
        version: 1
        start: main
        agents:
          triage: {name: Triage, instructions: Route.}
        """,
        [Expected("agents.yaml", 2, 8, "start", ("no agent 'main'", "known: triage"))],
    ),
    Case(
        "both_instructions_and_file",
        """
        version: 1
        start: triage
        agents:
          triage:
            name: Triage
            instructions: Route.
            instructions_file: prompts/triage.md
        """,
        [
            Expected(
                "agents.yaml",
                7,
                5,
                "agents.triage.instructions_file",
                ("either 'instructions' or 'instructions_file', not both",),
            )
        ],
    ),
    Case(
        "neither_instructions_nor_file",
        """
        version: 1
        start: triage
        agents:
          triage:
            name: Triage
        """,
        [Expected("agents.yaml", 4, 3, "agents.triage", ("needs 'instructions'",))],
    ),
    Case(
        "missing_required_key_points_at_parent",
        """
        version: 1
        start: triage
        agents:
          triage:
            instructions: Route.
        """,
        [Expected("agents.yaml", 4, 3, "agents.triage.name", ("required key 'name'",))],
    ),
    Case(
        "self_and_duplicate_handoff",
        """
        version: 1
        start: triage
        agents:
          triage: {name: T, instructions: R., handoffs: [joker, joker, triage]}
          joker: {name: J, instructions: J.}
        """,
        [
            Expected("agents.yaml", 4, 57, "agents.triage.handoffs[1]", ("duplicate agent",)),
            Expected("agents.yaml", 4, 64, "agents.triage.handoffs[2]", ("itself",)),
        ],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_broken_config_reports_exact_position(tmp_path: Path, case: Case) -> None:
    got = issues_of(write(tmp_path, case.yaml, case.files))

    assert len(got) == len(case.expected), "\n".join(got)
    for line, want in zip(got, case.expected, strict=True):
        prefix = f"{tmp_path / want.file}:{want.line}:{want.column}: {want.path}: "
        assert line.startswith(prefix), f"{line!r} should start with {prefix!r}"
        for fragment in want.fragments:
            assert fragment in line


def test_all_problems_are_reported_at_once_in_file_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        start: triag
        vars: {topic: cats}
        agents:
          triage:
            name: Triage
            instructions: Jokes about {topc}.
            handoffs: [jokr]
            tols: []
          joker:
            name: Joker
            instructions: Joke.
            tools: [how_many_joke]
        """,
    )

    got = issues_of(path)

    f = str(path)
    assert [line.split(": ", 2)[:2] for line in got] == [
        [f"{f}:2:8", "start"],
        [f"{f}:7:31", "agents.triage.instructions"],
        [f"{f}:8:16", "agents.triage.handoffs[0]"],
        [f"{f}:9:5", "agents.triage.tols"],
        [f"{f}:13:13", "agents.joker.tools[0]"],
    ]


def test_missing_config_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert issues_of(path) == [f"{path}:1:1: (file): config file not found"]


@pytest.mark.parametrize(
    ("text", "found"),
    [("", "an empty file"), ("- a\n- b\n", "a list"), ("just text\n", "a string")],
)
def test_document_must_be_a_mapping(tmp_path: Path, text: str, found: str) -> None:
    path = tmp_path / "agents.yaml"
    path.write_text(text, encoding="utf-8")
    [line] = issues_of(path)
    assert line.startswith(f"{path}:1:1: (document): ") and found in line


def test_config_error_str_is_one_line_per_issue() -> None:
    issues = [
        ConfigIssue("a.yaml", 1, 2, "start", "no agent 'x'"),
        ConfigIssue("a.yaml", 3, 4, "agents.y", "bad"),
    ]
    error = ConfigError(issues)
    assert error.issues == issues
    assert str(error) == "a.yaml:1:2: start: no agent 'x'\na.yaml:3:4: agents.y: bad"
    assert issues[0].severity == "error"
