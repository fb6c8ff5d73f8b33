"""Yandex Search API v2 (Yandex Cloud): `POST {WEB_YANDEX_URL}/v2/web/search`.

Auth: `Authorization: Api-Key <key>`; the folder id goes in the body. The answer is
`{"rawData": "<base64 XML>"}`; the XML is Yandex's `<yandexsearch>` document with
`response/results/grouping/group/doc` entries (`url`, `title`, `headline`, `passages/passage`,
words highlighted with `<hlword>`), or `response/error` with a `code` attribute.
"""

from __future__ import annotations

import base64
import binascii
import xml.etree.ElementTree as ET

from pydantic import BaseModel, ValidationError

from tools.errors import ToolFailure
from tools.web.client import WebRuntime
from tools.web.hits import Hit, Results
from tools.web.http import Exchange, HttpStatusFailure
from tools.web.lang import query_language

_WHAT = "Yandex Search API"
# Query language → (search domain, language of notices).
_LOCALES = {
    "ru": ("SEARCH_TYPE_RU", "LOCALIZATION_RU"),
    "uk": ("SEARCH_TYPE_RU", "LOCALIZATION_UK"),
    "be": ("SEARCH_TYPE_BE", "LOCALIZATION_BE"),
    "kk": ("SEARCH_TYPE_KK", "LOCALIZATION_KK"),
    "tr": ("SEARCH_TYPE_TR", "LOCALIZATION_TR"),
}
_INTERNATIONAL = ("SEARCH_TYPE_COM", "LOCALIZATION_EN")


class _Answer(BaseModel):
    rawData: str  # the API's own (camelCase) field name


def _text(element: ET.Element | None) -> str:
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def parse_xml(xml: bytes, limit: int) -> list[Hit]:
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        raise ToolFailure(f"{_WHAT} sent unreadable results") from None
    error = root.find("response/error")
    if error is not None:
        code = error.get("code", "?")
        if code == "15":  # "no results found for your word combination"
            return []
        raise ToolFailure(f"{_WHAT} error {code}: {_text(error)}")
    hits: list[Hit] = []
    for doc in root.iterfind("response/results/grouping/group/doc"):
        url = _text(doc.find("url"))
        if not url:
            continue
        passages = [_text(p) for p in doc.iterfind("passages/passage")]
        snippet = " … ".join(p for p in passages if p) or _text(doc.find("headline"))
        hits.append(Hit(title=_text(doc.find("title")) or url, url=url, snippet=snippet))
        if len(hits) >= limit:
            break
    return hits


def _json_type(media_type: str) -> bool:
    return media_type in ("application/json", "")


class YandexBackend:
    name = "yandex"

    async def search(self, web: WebRuntime, query: str, limit: int) -> Results:
        settings = web.settings
        key, folder = settings.yandex_api_key, settings.yandex_folder_id
        if key is None or not folder:
            raise ToolFailure(
                "the yandex search backend needs WEB_YANDEX_API_KEY and WEB_YANDEX_FOLDER_ID"
            )
        lang = query_language(query, settings.wikipedia_default_lang)
        search_type, l10n = _LOCALES.get(lang, _INTERNATIONAL)
        body = {
            "query": {
                "searchType": search_type,
                "queryText": query,
                "familyMode": "FAMILY_MODE_MODERATE",
                "page": "0",
            },
            "groupSpec": {
                "groupMode": "GROUP_MODE_FLAT",
                "groupsOnPage": str(limit),
                "docsInGroup": "1",
            },
            "maxPassages": "2",
            "l10n": l10n,
            "folderId": folder,
            "responseFormat": "FORMAT_XML",
        }
        url = settings.yandex_url.rstrip("/") + "/v2/web/search"
        headers = {"Authorization": f"Api-Key {key.get_secret_value()}"}
        try:
            fetched = await Exchange(web).request(
                url, accept=_json_type, method="POST", json=body, headers=headers, what=_WHAT
            )
        except HttpStatusFailure as exc:
            if exc.status in (401, 403):
                raise ToolFailure(
                    f"{exc}; check that the API key has the search-api.webSearch.user role "
                    "for the folder"
                ) from None
            raise
        try:
            raw = base64.b64decode(_Answer.model_validate_json(fetched.body).rawData)
        except (ValidationError, binascii.Error, ValueError):
            raise ToolFailure(f"{_WHAT} sent an unreadable answer") from None
        return Results(backend=self.name, language=lang, hits=parse_xml(raw, limit))
