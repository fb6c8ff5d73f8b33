"""Words for the offline model: tokenising, language and topic detection, and its texts.

Everything here is pure and deterministic so tests (and demos) see the same output on every
run. The texts are honest templates: the offline model never claims knowledge it lacks.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass


def _wordset(spaced: str) -> frozenset[str]:
    # Folded like `words()` folds the user's text, so "всё" also drops "все".
    return frozenset(spaced.casefold().replace("ё", "е").split())


# Dropped before routing: filler that says nothing about *which* specialist is wanted. Words
# like "joke", "write", "find" or "анекдот" are deliberately absent — they carry the routing.
STOPWORDS = _wordset(
    """
    the and about tell please what who whom whose where when why how which are was were
    can could would should will you your yours give some any with for from this that these
    those there here want need like know just show let its into onto our out also very much
    мне меня нам про расскажи расскажите скажи скажите пожалуйста что кто где когда как
    какой какая какое какие почему зачем это этот эта эти такой такая такое такие можно
    хочу хотим надо нужно или для есть был была было были его её она они мой моя моё мои
    твой ваш наш всё все тебя вас теперь ещё уже очень
    """
)

# Words of the SDK's default handoff description ("Handoff to the X agent to handle the
# request."): every target has them, so they would make every target match equally.
HANDOFF_TEMPLATE_WORDS = frozenset({"handoff", "agent", "handle", "request"})

QUESTION_WORDS = _wordset(
    """
    what who whom whose where when why how which is are does do did can could
    кто что где когда почему зачем как какой какая какое какие сколько чей чья откуда куда
    """
)

_WORD = re.compile(r"[^\W_]+")
_CHUNK = re.compile(r"\s*\S+\s*")
_URL = re.compile(r"https?://[^\s<>\"'»)]+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[a-zA-Z]")

# Topic markers, strongest first: "about"/"про" rarely mean anything else, "on"/"о" often do.
_TOPIC_MARKERS: tuple[tuple[str, ...], ...] = (("about", "про"), ("on", "regarding", "об", "о"))
_JOKE_WORDS = _wordset(
    "joke jokes anecdote funny шутка шутку шутки шуток анекдот анекдоты анекдотов"
)


def words(text: str) -> list[str]:
    """Unicode words, lower-cased, `ё` folded to `е`; underscores split snake_case ids."""
    return _WORD.findall(text.casefold().replace("ё", "е"))


def keywords(text: str) -> list[str]:
    """Words that can carry meaning for routing: no short words, no stopwords."""
    return [w for w in words(text) if len(w) >= 3 and w not in STOPWORDS]


def tokens_match(a: str, b: str) -> bool:
    """Equal, or a shared prefix of 4+ characters: joke/jokes/joker, шутка/шутку/шутки."""
    return a == b or (len(a) >= 4 and len(b) >= 4 and a[:4] == b[:4])


def is_question(text: str) -> bool:
    found = words(text)
    return "?" in text or (bool(found) and found[0] in QUESTION_WORDS)


def is_russian(text: str) -> bool:
    """Mostly Cyrillic letters (ties go to English, the SDK's and the seed's language)."""
    return len(_CYRILLIC.findall(text)) > len(_LATIN.findall(text))


def chunks(text: str) -> list[str]:
    """Word-sized stream deltas: each a word plus its trailing whitespace; never empty."""
    return _CHUNK.findall(text)


def find_urls(text: str) -> list[str]:
    return [url.rstrip(".,;:!?") for url in _URL.findall(text)]


def shorten(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class Topic:
    text: str  # "programming", "котов"
    phrase: str  # "about programming", "про котов": keeps the case the user's preposition chose


def extract_topic(message: str) -> Topic:
    russian = is_russian(message)
    tokens = message.split()
    lowered = [t.casefold().strip(",.!?:;") for t in tokens]
    for markers in _TOPIC_MARKERS:
        for i, token in enumerate(lowered):
            rest = " ".join(tokens[i + 1 :]).strip(" \t\n.,!?;:«»\"'")
            if token in markers and rest:
                return Topic(rest, f"{token} {rest}" if russian else f"about {rest}")
    leftover = [w for w in keywords(message) if w not in _JOKE_WORDS]
    if not leftover:
        return Topic("всём", "обо всём на свете") if russian else Topic("life", "about life")
    text = " ".join(leftover)
    return Topic(text, f"на тему «{text}»") if russian else Topic(text, f"about {text}")


_EN_JOKES = (
    "I tried to explain {topic} to my cat. Now the cat gives talks on {topic} and I take notes.",
    "How many {topic} experts does it take to change a light bulb? "
    "None: they are still debating {topic}.",
    "My doctor told me to cut down on {topic}. So now I only think about {topic} between meals.",
    "I wrote a whole book about {topic}. Critics called it a page-turner, "
    "mostly because they kept skipping pages.",
    "Why did {topic} go to therapy? Too many unresolved issues, "
    "just like every conversation about {topic}.",
    "I asked a wise old owl about {topic}. It said “who?”, "
    "which is still the best summary of {topic} I have heard.",
    "They say {topic} is not rocket science. Rocket scientists say {topic} is worse.",
    "I signed up for a course on {topic}. The first lesson was free; the second explained why.",
)

_RU_JOKES = (
    "Знаете анекдот {about}? Я тоже не знал, пока сам его не придумал.",
    "Лектор два часа рассказывал {about}. Из зала спросили: «А можно короче?» — "
    "«Можно, но тогда это будет анекдот {about}».",
    "Встречаются два друга. Один: «Давай поговорим {about}». "
    "Второй: «Давай, только без спойлеров».",
    "Учёные провели большое исследование {about}. Вывод: нужны ещё исследования — и печенье.",
    "Купил книгу {about}. Первая глава понравилась, остальные пересказываю как свои.",
    "Спросил у мудрой совы {about}. Она ответила «угу», и это лучшее, что я слышал {about}.",
    "Говорят, шутки {about} никогда не заканчиваются. Этот список — тому доказательство.",
    "Записался на курсы {about}. Первое занятие было бесплатным, а второе объяснило почему.",
)


def _ru_plural(n: int, one: str, few: str, many: str) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def jokes_text(count: int, message: str) -> str:
    """`count` numbered jokes about the message's topic, in the message's language.

    Never the same joke twice: past the repertoire it tells each once and says so.
    """
    topic = extract_topic(message)
    russian = is_russian(message)
    bank = _RU_JOKES if russian else _EN_JOKES
    told = min(count, len(bank))
    # crc32, not hash(): Python salts str hashes per process, and tests need stable output.
    start = zlib.crc32(topic.text.encode()) % len(bank)
    lines = [
        f"{i + 1}. " + bank[(start + i) % len(bank)].format(topic=topic.text, about=topic.phrase)
        for i in range(told)
    ]
    if russian:
        noun = _ru_plural(told, "анекдот", "анекдота", "анекдотов")
        head = f"Вот {told} {noun} {topic.phrase}:"
        if told < count:
            head = (
                f"Вы просили {count}, но я знаю только {told} {noun} {topic.phrase} — "
                "вот они все, без повторов:"
            )
    else:
        jokes = f"{told} joke{'s' * (told != 1)}"
        head = f"Here {'is' if told == 1 else 'are'} {jokes} {topic.phrase}:"
        if told < count:
            head = (
                f"You asked for {count}, but I only know {jokes} {topic.phrase}, "
                "so here is each of them once:"
            )
    return "\n".join([head, *lines])


def _failure_reason(output: str) -> str:
    return shorten(output.strip().removeprefix("Error:").strip(), 200)


def found_text(
    outputs: Sequence[str],
    message: str,
    *,
    sources: Sequence[str] = (),
    failures: Sequence[tuple[str, str]] = (),
) -> str:
    """Tool outputs quoted as is, the URLs the tools were given, and what could not be used."""
    quoted = "; ".join(f"“{shorten(o, 300)}”" for o in outputs if o.strip()) or "—"
    russian = is_russian(message)
    if russian:
        lines = [
            f"Вот что удалось найти (офлайн-демомодель цитирует инструменты как есть): {quoted}"
        ]
    else:
        lines = [f"Here is what I found (the offline demo model quotes its tools as is): {quoted}"]
    for name, output in failures:
        reason = _failure_reason(output)
        lines.append(
            f"Не удалось использовать {name}: {reason}"
            if russian
            else f"I could not use {name}: {reason}"
        )
    if sources:
        unique = list(dict.fromkeys(sources))
        lines.append(("Источники: " if russian else "Sources: ") + " ".join(unique))
    return "\n".join(lines)


def tools_failed_text(failures: Sequence[tuple[str, str]], message: str) -> str:
    """A polite answer when every tool call failed (e.g. the web is unreachable)."""
    name, output = failures[0] if failures else ("", "")
    reason = _failure_reason(output) or "—"
    if is_russian(message):
        return (
            f"Извините, сейчас не получается это выяснить: инструмент {name} сообщил об "
            f"ошибке («{reason}»). Возможно, сервер сейчас не может выйти в интернет. "
            "Попробуйте позже или задайте другой вопрос."
        )
    return (
        f"I am sorry, I cannot look this up right now: the {name} tool reported a problem "
        f"(“{reason}”). The web may be out of reach from this server. Please try again "
        "later, or ask me something else."
    )


def specialists_text(specialists: Sequence[tuple[str, str]], message: str) -> str:
    """The router's own answer when no specialist matched: what each one does, and a hint."""
    joker = any(
        tokens_match(k, j)
        for name, desc in specialists
        for k in keywords(f"{name} {desc}")
        for j in ("joke", "шутка", "анекдот")
    )
    listing = "".join(
        f"\n- {name}: {desc}" if desc else f"\n- {name}" for name, desc in specialists
    )
    hint = next((k for _, desc in specialists for k in keywords(desc)), None)
    if is_russian(message):
        if joker:
            example = "Попробуйте, например: «Расскажи анекдот про котов»."
        else:
            example = f"Попробуйте запрос со словом «{hint}»." if hint else ""
        return (
            "Я — офлайн-демомодель: выбираю специалиста по ключевым словам, и в вашем "
            f"сообщении совпадений не нашлось. Мои специалисты:{listing}\n{example}"
        ).strip()
    if joker:
        example = "Try, for example: “Tell me a joke about cats”."
    else:
        example = f"Try a request with the word “{hint}”." if hint else ""
    return (
        "I am the offline demo model: I pick a specialist by keywords, and nothing in your "
        f"message matched one. My specialists:{listing}\n{example}"
    ).strip()


def no_knowledge_text(message: str) -> str:
    question = shorten(message, 200)
    if is_russian(message):
        return (
            "Я — офлайн-демомодель и не обладаю настоящими знаниями, поэтому не могу "
            f"ответить на «{question}». Задайте API_KEY и FOLDER_ID (Yandex AI Studio) или "
            "другой OpenAI-совместимый сервис, чтобы отвечала настоящая модель."
        )
    return (
        "I am the offline demo model and have no real knowledge, so I cannot respond to "
        f"“{question}”. Set API_KEY and FOLDER_ID (Yandex AI Studio) or another "
        "OpenAI-compatible endpoint to get answers from a real model."
    )
