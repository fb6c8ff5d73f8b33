"""Routing examples: the shipped set on the offline model, file errors, the CLI table."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from agents_app.authoring.routing_eval import below, evaluate, report
from agents_app.authoring.routing_examples import RoutingExample, load_examples
from agents_app.config import ConfigError
from agents_app.engine import Engine
from agents_app.models.offline_text import is_russian
from tests.test_cli import agents_app

EXAMPLES = Path(__file__).resolve().parents[1] / "config" / "routing-examples.yaml"


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def test_shipped_examples_cover_every_agent_in_both_languages(engine: Engine) -> None:
    examples = load_examples(EXAMPLES, agent_ids=engine.graph.agents)
    assert {e.expect for e in examples} == set(engine.graph.agents)
    russian = [e for e in examples if is_russian(e.input)]
    assert len(russian) >= 10 and len(examples) - len(russian) >= 10
    for agent in engine.graph.agents:
        langs = {is_russian(e.input) for e in examples if e.expect == agent}
        assert langs == {True, False}, agent


async def test_shipped_examples_route_right_on_the_offline_model(engine: Engine) -> None:
    examples = load_examples(EXAMPLES, agent_ids=engine.graph.agents)
    outcomes = await evaluate(engine, examples)
    assert [o for o in outcomes if not o.correct] == []
    assert below(outcomes, 1.0) == []


async def test_a_wrong_expectation_is_a_miss_with_its_line(engine: Engine) -> None:
    examples = [
        RoutingExample("Tell me a joke about cats", "joker", "ex.yaml", 3),
        RoutingExample("Why is the sky blue?", "joker", "ex.yaml", 5),
        RoutingExample("Hello!", "triage", "ex.yaml", 7),
    ]
    outcomes = await evaluate(engine, examples, concurrency=1)
    assert [o.got for o in outcomes] == ["joker", "researcher", "triage"]
    table = report(outcomes)
    assert re.search(r"^joker\s+2\s+1\s+50%$", table, re.M)
    assert re.search(r"^triage\s+1\s+1\s+100%$", table, re.M)
    assert re.search(r"^overall\s+3\s+2\s+67%$", table, re.M)
    assert "ex.yaml:5: 'Why is the sky blue?': expected joker, got researcher" in table
    assert [row.agent for row in below(outcomes, 0.9)] == ["joker", "overall"]


def test_examples_file_errors_are_positioned(tmp_path: Path) -> None:
    path = write(
        tmp_path / "ex.yaml",
        """
        version: 1
        examples:
          - input: ""
            expect: triage
          - input: hi
            expect: Triage
        """,
    )
    with pytest.raises(ConfigError) as caught:
        load_examples(path, agent_ids=["triage", "joker"])
    assert [str(i) for i in caught.value.issues] == [
        f"{path}:3:12: examples[0].input: string should have at least 1 character (got '')",
        f"{path}:6:13: examples[1].expect: no agent 'Triage' (did you mean 'triage'?)",
    ]


def test_examples_file_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path / "ex.yaml", "version: 1\nexamples: [\n")
    with pytest.raises(ConfigError) as caught:
        load_examples(path, agent_ids=["triage"])
    assert str(caught.value).startswith(f"{path}:3:1: (syntax):")


def test_eval_routing_cli_table_and_exit_codes(tmp_path: Path) -> None:
    ok = agents_app("eval-routing")
    assert ok.returncode == 0, ok.stderr
    assert "model: offline" in ok.stdout
    assert re.search(r"^overall\s+(\d+)\s+\1\s+100%$", ok.stdout, re.M), ok.stdout

    wrong = write(
        tmp_path / "ex.yaml",
        """
        version: 1
        examples:
          - input: Расскажи анекдот про котов
            expect: researcher
          - input: Tell me a joke
            expect: joker
        """,
    )
    bad = agents_app("eval-routing", str(wrong), "--min-accuracy", "0.8")
    assert bad.returncode == 1
    assert f"{wrong}:3: 'Расскажи анекдот про котов': expected researcher, got joker" in (
        bad.stdout
    )
    assert "below --min-accuracy 80%: researcher 0%, overall 50%" in bad.stderr

    lenient = agents_app("eval-routing", str(wrong), "--min-accuracy", "0")
    assert lenient.returncode == 0, lenient.stderr


def test_eval_routing_cli_rejects_unknown_agents(tmp_path: Path) -> None:
    path = write(tmp_path / "ex.yaml", "version: 1\nexamples:\n  - {input: hi, expect: jokr}\n")
    result = agents_app("eval-routing", str(path))
    assert result.returncode == 2
    assert f"{path}:3:25: examples[0].expect: no agent 'jokr' (did you mean 'joker'?)" in (
        result.stderr
    )
