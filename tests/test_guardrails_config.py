"""agents.yaml `guardrails:`: definitions, attachments, positioned errors and warnings."""

from __future__ import annotations

from pathlib import Path

from agents_app.config import check_config, load_config
from tests.config_helpers import TOOLS, issues_of, write

GOOD = """
    version: 1
    start: triage
    vars: {topic: jokes}
    guardrails:
      too_long: {kind: max_length, max_chars: 100, blocking: true}
      no_card:
        kind: regex
        pattern: '\\b\\d{16}\\b'
        message: Please do not send card numbers.
      rude: {kind: keywords, words: [idiot, stupid]}
      on_topic:
        kind: agent
        instructions: Allow only messages about {topic}.
        model: judge-model
        timeout_s: 5
      tool_check: {kind: keywords, words: [secret], on_trip: reject}
    run_guardrails: {input: [too_long, no_card]}
    agents:
      triage:
        name: Triage
        instructions: Route.
        guardrails: {input: [on_topic], output: [rude]}
        tools: [how_many_jokes]
        tool_guardrails:
          how_many_jokes: {input: [tool_check], output: [no_card]}
"""


def test_a_full_guardrails_section_loads_with_judge_prompts_resolved(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), tool_names=TOOLS)
    assert config.guardrails["on_topic"].instructions == "Allow only messages about jokes."
    assert config.run_guardrails.input == ("too_long", "no_card")
    assert config.agents["triage"].tool_guardrails["how_many_jokes"].input == ("tool_check",)
    assert config.guardrail_users()["no_card"] == [
        "run input",
        "tool how_many_jokes of triage output",
    ]
    report = check_config(write(tmp_path, GOOD), tool_names=TOOLS)
    assert report.warnings == ()  # the judge's prompt uses the var


def test_unknown_references_are_positioned_with_did_you_mean(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        start: a
        guardrails:
          too_long: {kind: max_length, max_chars: 10}
        run_guardrails: {input: [too_lnog]}
        agents:
          a:
            name: A
            instructions: x
            tools: [how_many_jokes]
            guardrails: {output: [nope]}
            tool_guardrails:
              how_many_joke: {input: [too_long]}
        """,
    )
    assert issues_of(path) == [
        f"{path}:5:26: run_guardrails.input[0]: unknown guardrail 'too_lnog' "
        "(did you mean 'too_long'?)",
        f"{path}:11:27: agents.a.guardrails.output[0]: unknown guardrail 'nope' (known: too_long)",
        f"{path}:13:7: agents.a.tool_guardrails.how_many_joke: guardrails for "
        "'how_many_joke', which is not one of this agent's tools (did you mean "
        "'how_many_jokes'?)",
    ]


def test_kind_fields_regex_and_judge_prompts_are_checked(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        start: a
        guardrails:
          bad_regex: {kind: regex, pattern: '(unclosed'}
          mixed: {kind: max_length, max_chars: 5, words: [x]}
          empty_kw: {kind: keywords}
          judge: {kind: agent}
          judge_file: {kind: agent, instructions_file: prompts/judgee.md}
          typo: {kind: regex, patern: x}
          Bad-Name: {kind: max_length, max_chars: 1}
        run_guardrails:
          input: [bad_regex, mixed, empty_kw, judge, judge_file, typo, Bad-Name]
        agents:
          a: {name: A, instructions: x}
        """,
        files={"prompts/judge.md": "Judge."},
    )
    assert [i.replace(str(path), "P").replace(str(tmp_path), "T") for i in issues_of(path)] == [
        "P:4:37: guardrails.bad_regex.pattern: not a valid regular expression: missing ), "
        "unterminated subpattern at position 0",
        "P:5:43: guardrails.mixed.words: 'words' belongs to keywords guardrails, not max_length",
        "P:6:3: guardrails.empty_kw: a keywords guardrail needs 'words'",
        "P:7:3: guardrails.judge: a judge needs 'instructions' (text) or 'instructions_file' "
        "(path to a prompt)",
        "P:8:48: guardrails.judge_file.instructions_file: file not found: "
        "T/prompts/judgee.md (did you mean 'judge.md'?)",
        "P:9:3: guardrails.typo: a regex guardrail needs 'pattern'",
        "P:9:23: guardrails.typo.patern: unknown key 'patern' (did you mean 'pattern'?)",
        "P:10:3: guardrails.Bad-Name: guardrail name 'Bad-Name' must be ASCII snake_case "
        "(^[a-z][a-z0-9_]*$): clients see it in guardrail.tripped events (did you mean "
        "'bad_name'?)",
    ]


def test_reject_is_only_for_tool_guardrails(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        start: a
        guardrails:
          soft: {kind: keywords, words: [x], on_trip: reject}
        agents:
          a:
            name: A
            instructions: x
            guardrails: {input: [soft]}
        """,
    )
    (issue,) = issues_of(path)
    assert issue.startswith(f"{path}:9:26: agents.a.guardrails.input[0]: guardrail 'soft' has ")
    assert "only tool guardrails can do" in issue


def test_a_guardrail_nobody_uses_is_a_warning(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        start: a
        guardrails:
          used: {kind: max_length, max_chars: 10}
          spare: {kind: max_length, max_chars: 10}
        run_guardrails: {output: [used]}
        agents:
          a: {name: A, instructions: x}
        """,
    )
    report = check_config(path, tool_names=TOOLS)
    assert report.config is not None
    assert [str(w) for w in report.warnings] == [
        f"{path}:5:3: warning: guardrails.spare: guardrail 'spare' is not used: list it under "
        "run_guardrails, an agent's guardrails or its tool_guardrails (input or output), or "
        "remove it"
    ]
