"""Audio people share with BeatBot in Slack: found, checked and saved by the store.

The bot token goes only to Slack (or the configured API host, e.g. a test fake); a file that
isn't audio, can't be seen or can't be downloaded is a sentence, never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import BadAudio, UserError
from bot.messages import Attachment
from bot.services import Services
from bot.store import Upload

log = logging.getLogger(__name__)

DOWNLOAD_CHUNK = 64 * 1024
MAX_FILES = 10
AUDIO_FILETYPES = {"mp3", "wav", "flac", "aiff", "aif", "ogg", "m4a", "aac", "opus", "wma"}
NOT_AUDIO = (
    "I can only work with audio files (WAV, MP3, FLAC, AIFF, OGG, M4A). "
    "Share a track and say what to do, e.g. “master this for club”."
)


def api_error(exc: SlackApiError) -> str:
    """The error code only: a Slack response never goes to the log whole."""
    try:
        return str(exc.response.get("error") or exc.response.status_code)
    except Exception:
        return "unknown"


def is_audio(info: Mapping[str, Any]) -> bool:
    mimetype = str(info.get("mimetype") or "")
    filetype = str(info.get("filetype") or "").lower()
    return mimetype.startswith("audio/") or filetype in AUDIO_FILETYPES


class SharedFiles:
    def __init__(self, services: Services, client: AsyncWebClient, token: str) -> None:
        self.services = services
        self.client = client
        self._token = token

    async def attachments(self, files: list[Mapping[str, Any]]) -> tuple[Attachment, ...]:
        saved = []
        for file in files[:MAX_FILES]:
            info = file
            if not (file.get("url_private_download") or file.get("url_private")):
                info = await self._file_info(str(file.get("id")))
            if is_audio(info):
                upload = await self._download(info)
                saved.append(Attachment(upload.file_id, upload.original_name))
        if files and not saved:
            raise BadAudio(NOT_AUDIO)
        return tuple(saved)

    async def _file_info(self, file_id: str) -> Mapping[str, Any]:
        """Events may carry only a file id ("check_file_info"): ask files.info for the rest."""
        try:
            response = await self.client.files_info(file=file_id)
        except SlackApiError as exc:
            log.warning("files.info failed for %s: %s", file_id, api_error(exc))
            raise UserError("I can't see that file. Share it again in this thread?") from None
        return response["file"]

    async def _download(self, info: Mapping[str, Any]) -> Upload:
        try:
            return await self._fetch(info)
        except (aiohttp.ClientError, TimeoutError):
            log.warning("Slack file download failed", exc_info=True)
            raise UserError(
                f"I couldn't download {info.get('name') or 'that file'} from Slack. "
                "Try sharing it again in a minute?"
            ) from None

    async def _fetch(self, info: Mapping[str, Any]) -> Upload:
        name = str(info.get("name") or "upload")
        url = str(info.get("url_private_download") or info.get("url_private") or "")
        if not self._trusted_url(url):
            log.warning("not sending the bot token to %s", urlparse(url).hostname)
            raise UserError(f"I couldn't fetch {name} from Slack. Try uploading it again?")
        headers = {"Authorization": f"Bearer {self._token}"}
        timeout = aiohttp.ClientTimeout(total=300, sock_connect=15)
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.get(url, headers=headers) as response,
        ):
            if response.status != 200 or response.content_type == "text/html":
                # Slack answers a missing files:read scope with its login page.
                log.warning("Slack file download answered HTTP %s", response.status)
                raise UserError(
                    f"I couldn't download {name} from Slack (the app may lack the files:read "
                    "scope). Try again, or ask the workspace admin to reinstall BeatBot."
                )
            size = info.get("size")
            return await self.services.store.save_upload(
                response.content.iter_chunked(DOWNLOAD_CHUNK),
                name,
                size_hint=int(size) if isinstance(size, int) else None,
            )

    def _trusted_url(self, url: str) -> bool:
        """The bot token goes only to Slack (or to the configured API host, e.g. a test fake)."""
        parsed = urlparse(url)
        host = parsed.hostname or ""
        api_host = urlparse(self.services.settings.slack.api_base).hostname
        if host == api_host:
            return True
        return parsed.scheme == "https" and (host == "slack.com" or host.endswith(".slack.com"))
