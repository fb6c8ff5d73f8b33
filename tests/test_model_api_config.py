"""What the model API refuses is a validate error, with file:line:column: saved prompts
outside the Responses API, and tool_choice values AI Studio's Chat Completions rejects."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents_app.config import ConfigError, load_config
from agents_app.config.model_api import ModelApi
from agents_app.engine import Engine
from agents_app.testing import Reply, ScriptedOpenAIServer, Text
from tests.config_helpers import TOOLS, write
from tests.test_cli import agents_app
from tests.test_model_backends import remote_settings, run

YANDEX_CHAT = ModelApi("yandex", "chat_completions")
YANDEX_RESPONSES = ModelApi("yandex", "responses")
OTHER_CHAT = ModelApi("openai", "chat_completions")

SAVED_PROMPT = """
    version: 1
    start: helper
    agents:
      helper:
        name: Helper
        prompt:
          id: fvt1a2b3c4d5e6f7g8h9
          version: "2"
          variables: {city: Moscow, days: 3}
"""


def issues(path: Path, model_api: ModelApi | None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, tool_names=TOOLS, model_api=model_api)
    return [str(issue) for issue in caught.value.issues]


def test_a_saved_prompt_needs_no_instructions_and_reaches_the_sdk(tmp_path: Path) -> None:
    path = write(tmp_path, SAVED_PROMPT)
    for model_api in (YANDEX_RESPONSES, ModelApi("offline", "responses"), None):
        config = load_config(path, tool_names=TOOLS, model_api=model_api)
    spec = config.agents["helper"]
    assert spec.prompt is not None and spec.prompt.to_sdk() == {
        "id": "fvt1a2b3c4d5e6f7g8h9",
        "version": "2",
        "variables": {"city": "Moscow", "days": "3"},
    }


def test_a_saved_prompt_with_chat_completions_is_refused_where_it_is_written(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, SAVED_PROMPT)
    (problem,) = issues(path, YANDEX_CHAT)
    assert problem.startswith(f"{path}:6:5: agents.helper.prompt: a saved prompt is used")
    assert "Responses API only" in problem
    assert issues(path, OTHER_CHAT) == [problem]


@pytest.mark.parametrize(
    ("choice", "model_api", "expected"),
    [
        ("auto", YANDEX_CHAT, None),
        ("none", YANDEX_CHAT, None),
        ("required", YANDEX_CHAT, "AI Studio's Chat Completions API takes only auto or none"),
        ("how_many_jokes", YANDEX_CHAT, "takes only auto or none"),
        ("required", YANDEX_RESPONSES, None),
        ("how_many_jokes", OTHER_CHAT, None),
        ("transfer_to_joker", None, None),
        ("how_many_joke", None, "(did you mean 'how_many_jokes'?)"),
        ("weather", YANDEX_RESPONSES, "nor one of this agent's tools (its tools: how_many_jokes"),
    ],
)
def test_tool_choice_is_checked_against_the_api_and_the_agent(
    tmp_path: Path, choice: str, model_api: ModelApi | None, expected: str | None
) -> None:
    path = write(
        tmp_path,
        f"""
        version: 1
        start: triage
        agents:
          triage:
            name: Triage
            instructions: Route.
            handoffs: [joker]
            tools: [how_many_jokes]
            model_settings: {{tool_choice: {choice}}}
          joker:
            name: Joker
            instructions: Jokes.
        """,
    )
    if expected is None:
        load_config(path, tool_names=TOOLS, model_api=model_api)
        return
    (problem,) = issues(path, model_api)
    assert problem.startswith(f"{path}:9:35: agents.triage.model_settings.tool_choice: ")
    assert expected in problem


def test_an_inherited_tool_choice_is_reported_at_the_default(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        start: a
        defaults:
          model_settings:
            tool_choice: required
        agents:
          a: {name: A, instructions: x}
          b: {name: B, instructions: x, model_settings: {tool_choice: null}}
          c: {name: C, instructions: x, model_settings: {tool_choice: auto}}
        """,
    )
    (problem,) = issues(path, YANDEX_CHAT)
    assert problem.startswith(f"{path}:5:18: defaults.model_settings.tool_choice: ")
    assert problem.endswith("(inherited by agent 'a')")  # b drops it, c overrides it


def test_validate_reads_the_api_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, SAVED_PROMPT)
    yandex = {"API_KEY": "AQVN-secret-key", "FOLDER_ID": "b1g"}
    chat = agents_app("validate", str(path), **yandex, AGENTS_API="chat_completions")
    assert chat.returncode == 1
    assert f"{path}:6:5: agents.helper.prompt" in chat.stderr
    assert "AQVN-secret-key" not in chat.stdout + chat.stderr
    responses = agents_app("validate", str(path), **yandex)
    assert responses.returncode == 0, responses.stderr


async def test_the_request_carries_the_saved_prompt(
    srv: ScriptedOpenAIServer, tmp_path: Path
) -> None:
    expected = {
        "id": "fvt1a2b3c4d5e6f7g8h9",
        "version": "2",
        "variables": {"city": "Moscow", "days": "3"},
    }
    srv.enqueue(Reply([Text("Sunny in Moscow.")], expect={"prompt": expected}))
    settings = remote_settings(srv, config_path=write(tmp_path, SAVED_PROMPT))
    events = await run(Engine.from_settings(settings), "weather?")
    assert events[-1].type == "run.completed", events[-1]
    # The saved prompt holds the instructions: none are sent over them.
    assert "instructions" not in srv.requests[0].body
