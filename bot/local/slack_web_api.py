"""The Slack stand-in's workspace: its Web API methods, and the messages and uploads they make.

Each method takes the parsed params and returns the fields beside "ok": true, or raises ApiError.
The stand-in calls all of it holding its one lock, so nothing here locks.
"""

from __future__ import annotations

import copy
import json
import secrets
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from bot.local.slack_http import Answer, Params, text_answer

BOT_USER_ID = "U0OPSBOT"
BOT_ID = "B0OPSBOT"
AUTH_TEST = {
    "url": "https://standin.slack.test/",
    "team": "Stand-in",
    "user": "opsbot",
    "team_id": "T0STANDIN",
    "user_id": BOT_USER_ID,
    "bot_id": BOT_ID,
}


class ApiError(Exception):
    """A Slack error code: Slack answers these with HTTP 200 and ok=false."""


def _content(params: Params) -> Params:
    return {key: params[key] for key in ("text", "blocks", "attachments") if key in params}


def _channel(channel_id: str) -> Params:
    return {"id": channel_id, "name": "demo", "is_channel": True, "is_member": True}


def _required(params: Params, name: str, error: str) -> str:
    value = params.get(name)
    if not value:
        raise ApiError(error)
    return str(value)


class Workspace:
    """One workspace's channels, their messages, the files uploaded to it and the response_urls handed out."""

    def __init__(self, base_url: Callable[[], str]) -> None:
        self._base_url = base_url  # the server's, once it listens: upload URLs point back at it
        self.uploads: dict[str, dict[str, Any]] = {}
        self.channels: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
        self.response_urls: dict[str, dict[str, Any]] = {}
        self.homes: dict[str, dict[str, Any]] = {}  # user id -> the Home tab view last published for them
        self.refused_blocks: set[str] = set()  # block types answered with invalid_blocks, as older workspaces do
        self.usergroups: dict[str, list[str]] = {}  # user group id -> its members' ids
        self._ts_base = int(time.time())
        self._ts_count = 0
        self.methods: dict[str, Callable[[Params], Params]] = {
            "auth.test": lambda _: AUTH_TEST,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "conversations.info": self._conversation,
            "conversations.join": self._conversation,
            "conversations.list": lambda _: {
                "channels": [_channel("C0DEMO")],
                "response_metadata": {"next_cursor": ""},
            },
            "users.info": self._user,
            "views.publish": self._publish_view,
            "usergroups.users.list": self._usergroup_members,
        }

    def upload(self, file_id: str, body: bytes) -> Answer:
        upload = self.uploads.get(file_id)
        if upload is None:
            return text_answer(404, "file_not_found")
        upload["content"] = body
        return text_answer(200, f"OK - {len(body)}")

    def _refuses(self, message: Params) -> bool:
        blocks = message.get("blocks")
        if isinstance(blocks, str):  # the Web API's form encoding sends them as JSON text
            blocks = json.loads(blocks)
        return any(isinstance(b, dict) and b.get("type") in self.refused_blocks for b in blocks or [])

    def respond(self, response_id: str, payload: Params) -> Answer:
        origin = self.response_urls.get(response_id)
        if origin is None:
            return text_answer(404, "no_response_url")
        if self._refuses(payload):
            return text_answer(400, "invalid_blocks")
        origin.setdefault("delivered", []).append(payload)
        messages = self.channels[origin["channel"]]
        previous = next((m for m in messages if m["ts"] == origin["last_ts"]), None)
        if payload.get("delete_original") in (True, "true"):
            if previous is not None:
                messages.remove(previous)
        elif previous is not None and payload.get("replace_original") in (True, "true"):
            response_type = payload.get("response_type", previous["response_type"])
            messages[messages.index(previous)] = {
                "ts": previous["ts"],
                "response_type": response_type,
                **_content(payload),
            }
        else:
            # Slack's default for a response_url is ephemeral: only the caller sees it.
            message = {"ts": self._next_ts(), "response_type": payload.get("response_type", "ephemeral")}
            messages.append({**message, **_content(payload)})
            origin["last_ts"] = message["ts"]
        return text_answer(200, "ok")

    def _next_ts(self) -> str:
        self._ts_count += 100
        return f"{self._ts_base + self._ts_count // 1_000_000}.{self._ts_count % 1_000_000:06d}"

    def _post(self, channel: str, message: Params, thread_ts: Any) -> Params:
        message = {"type": "message", "ts": self._next_ts(), "user": BOT_USER_ID, "bot_id": BOT_ID, **message}
        if thread_ts:
            message["thread_ts"] = str(thread_ts)
        self.channels[channel].append(message)
        return message

    def _post_message(self, params: Params) -> Params:
        channel = _required(params, "channel", "channel_not_found")
        if not any(_content(params).values()):
            raise ApiError("no_text")
        if self._refuses(params):
            raise ApiError("invalid_blocks")
        message = self._post(channel, _content(params), params.get("thread_ts"))
        return {"channel": channel, "ts": message["ts"], "message": copy.deepcopy(message)}

    def _update(self, params: Params) -> Params:
        channel = _required(params, "channel", "channel_not_found")
        ts = _required(params, "ts", "message_not_found")
        message = next((m for m in self.channels.get(channel, []) if m["ts"] == ts), None)
        if message is None:
            raise ApiError("message_not_found")
        if self._refuses(params):
            raise ApiError("invalid_blocks")
        message.update(_content(params))  # like Slack, fields left out keep their old value
        return {"channel": channel, "ts": ts, "text": message.get("text", "")}

    def _post_ephemeral(self, params: Params) -> Params:
        channel = _required(params, "channel", "channel_not_found")
        user = _required(params, "user", "user_not_found")
        if not any(_content(params).values()):
            raise ApiError("no_text")
        message = {**_content(params), "response_type": "ephemeral", "ephemeral_to": user}
        return {"message_ts": self._post(channel, message, params.get("thread_ts"))["ts"]}

    def _get_upload_url(self, params: Params) -> Params:
        filename = _required(params, "filename", "invalid_arguments")
        if not str(params.get("length", "")).isdigit():
            raise ApiError("invalid_arguments")
        file_id = "F" + secrets.token_hex(5).upper()
        self.uploads[file_id] = {"filename": filename, "length": int(params["length"]), "content": b"", "title": ""}
        return {"upload_url": f"{self._base_url()}/upload/{file_id}", "file_id": file_id}

    def _complete_upload(self, params: Params) -> Params:
        files = params.get("files")
        if not isinstance(files, list) or not files or not all(isinstance(f, dict) for f in files):
            raise ApiError("invalid_arguments")
        if any(str(f.get("id")) not in self.uploads for f in files):
            raise ApiError("file_not_found")
        channel = params.get("channel_id")
        shared = []
        for item in files:
            upload = self.uploads[str(item["id"])]
            upload["title"] = item.get("title") or upload["filename"]
            if channel:
                upload["channel"] = channel
            size = len(upload["content"])
            shared.append({"id": item["id"], "name": upload["filename"], "title": upload["title"], "size": size})
        if channel:
            message = {"text": params.get("initial_comment", ""), "files": copy.deepcopy(shared)}
            self._post(str(channel), message, params.get("thread_ts"))
        return {"files": shared}

    def _publish_view(self, params: Params) -> Params:
        user = _required(params, "user_id", "invalid_arguments")
        view = params.get("view")
        if isinstance(view, str):  # the SDK sends it JSON-encoded in a form, as an object in JSON
            view = json.loads(view)
        if not isinstance(view, dict) or view.get("type") != "home" or not isinstance(view.get("blocks"), list):
            raise ApiError("invalid_arguments")
        if not 1 <= len(view["blocks"]) <= 100:
            raise ApiError("invalid_blocks")
        self.homes[user] = copy.deepcopy(view)
        return {"view": {"id": "V" + secrets.token_hex(5).upper(), **view}}

    def _conversation(self, params: Params) -> Params:
        return {"channel": _channel(_required(params, "channel", "channel_not_found"))}

    def _usergroup_members(self, params: Params) -> Params:
        group = _required(params, "usergroup", "no_such_subteam")
        if group not in self.usergroups:
            raise ApiError("no_such_subteam")
        return {"users": list(self.usergroups[group])}

    def _user(self, params: Params) -> Params:
        user = _required(params, "user", "user_not_found")
        return {"user": {"id": user, "name": "demo", "real_name": "Demo User", "tz": "Europe/Berlin", "is_bot": False}}
