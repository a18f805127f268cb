"""A loopback server speaking the providers' batch wire formats, for the official SDKs to talk to.

OpenAI: POST /v1/files (multipart, purpose=batch), POST /v1/batches, GET /v1/batches (list),
GET /v1/batches/{id}, POST /v1/batches/{id}/cancel, GET /v1/files/{id}/content (JSONL).
Anthropic: POST /v1/messages/batches, GET /v1/messages/batches/{id}, POST …/{id}/cancel,
GET …/{id}/results (JSONL, at the batch's results_url).

Each request of a batch is answered by `answer(custom_id, body)`: a response body (a chat completion
or a message), or "expired", or "errored: <message>". A batch reports in_progress for its first
`polls_before_end` retrievals, then ended. `hold_results`, when given, holds every results download
until it is set (so a test can kill the worker collecting them).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

from synth.models import Teacher
from tests.synth.techniques.test_techniques_loopback import responder

Answer = Callable[[str, dict[str, Any]], dict[str, Any] | str]


class BatchServer:
    def __init__(self, answer: Answer, *, polls_before_end: int = 1) -> None:
        self.answer = answer
        self.polls_before_end = polls_before_end
        self.fail_openai_batch_with = ""  # the whole batch fails validation, with this message
        self.statuses: list[int] = []  # answer the next requests with these HTTP errors (e.g. 500)
        self.results_url = ""  # Anthropic: where the batch says its results are, if not here
        self.has_batch_api = True  # False: a server with chat completions only (e.g. vLLM)
        self.hold_results: threading.Event | None = None
        self.results_requested = threading.Event()
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.created: list[str] = []  # batch ids, in order of creation
        self.cancelled: list[str] = []
        self.results_downloads = 0
        self.uploaded_lines: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.url = f"http://127.0.0.1:{self._httpd.server_port}"

    def start(self) -> None:
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self._closing.set()
        if self.hold_results is not None:
            self.hold_results.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    # OpenAI ---------------------------------------------------------------------------------------

    def _openai_upload(self, headers, body: bytes) -> tuple[int, Any]:
        message = message_from_bytes(
            f"Content-Type: {headers['content-type']}\r\n\r\n".encode() + body, policy=HTTP
        )
        content = b""
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "file":
                content = part.get_payload(decode=True)
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = content
        return 200, {
            "id": file_id, "object": "file", "bytes": len(content), "created_at": int(time.time()),
            "filename": "batch.jsonl", "purpose": "batch", "status": "processed",
        }  # fmt: skip

    def _openai_create(self, body: dict[str, Any]) -> tuple[int, Any]:
        lines = [json.loads(line) for line in self.files[body["input_file_id"]].decode().splitlines() if line]
        self.uploaded_lines += lines
        batch_id = f"batch_{len(self.batches) + 1}"
        output, errors = [], []
        for line in lines:
            reply = self.answer(line["custom_id"], line["body"])
            entry = {"id": f"resp_{line['custom_id']}", "custom_id": line["custom_id"]}
            if reply == "expired":
                errors.append({**entry, "response": None, "error": {
                    "code": "batch_expired",
                    "message": "This request could not be executed before the completion window expired.",
                }})  # fmt: skip
            elif isinstance(reply, str):
                message = reply.split(": ", 1)[1]
                errors.append({**entry, "error": None, "response": {
                    "status_code": 400, "request_id": "req_1",
                    "body": {"error": {"message": message, "type": "invalid_request_error"}},
                }})  # fmt: skip
            else:
                output.append(
                    {
                        **entry,
                        "error": None,
                        "response": {"status_code": 200, "request_id": "r", "body": reply},
                    }
                )
        batch = {
            "id": batch_id, "object": "batch", "endpoint": body["endpoint"], "input_file_id": body["input_file_id"],
            "completion_window": body["completion_window"], "created_at": int(time.time()),
            "status": "validating", "metadata": body.get("metadata"),
            "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
            "_polls": 0, "_output": output, "_errors": errors,
        }  # fmt: skip
        self.batches[batch_id] = batch
        self.created.append(batch_id)
        return 200, self._openai_view(batch)

    def _openai_retrieve(self, batch_id: str) -> tuple[int, Any]:
        batch = self.batches[batch_id]
        batch["_polls"] += 1
        if batch["status"] in ("validating", "in_progress") and batch["_polls"] > self.polls_before_end:
            if self.fail_openai_batch_with:
                batch["status"] = "failed"
                batch["errors"] = {"object": "list", "data": [
                    {"code": "invalid_request", "message": self.fail_openai_batch_with, "line": 1, "param": None}
                ]}  # fmt: skip
            else:
                batch["status"] = "completed"
                for kind, name in (("_output", "output_file_id"), ("_errors", "error_file_id")):
                    if batch[kind]:
                        file_id = f"file-{batch_id}-{kind.strip('_')}"
                        self.files[file_id] = "".join(json.dumps(x) + "\n" for x in batch[kind]).encode()
                        batch[name] = file_id
                batch["request_counts"] = {
                    "total": len(batch["_output"]) + len(batch["_errors"]),
                    "completed": len(batch["_output"]),
                    "failed": len(batch["_errors"]),
                }
        elif batch["status"] == "validating":
            batch["status"] = "in_progress"
        return 200, self._openai_view(batch)

    @staticmethod
    def _openai_view(batch: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in batch.items() if not k.startswith("_")}

    def _file_content(self, file_id: str) -> tuple[int, bytes]:
        return 200, self.files[file_id]

    # Anthropic ------------------------------------------------------------------------------------

    def _anthropic_create(self, body: dict[str, Any]) -> tuple[int, Any]:
        batch_id = f"msgbatch_{len(self.batches) + 1}"
        results = []
        for request in body["requests"]:
            self.uploaded_lines.append(request)
            reply = self.answer(request["custom_id"], request["params"])
            if reply == "expired":
                result = {"type": "expired"}
            elif isinstance(reply, str):
                result = {"type": "errored", "error": {"type": "error", "error": {
                    "type": "invalid_request_error", "message": reply.split(": ", 1)[1]}}}  # fmt: skip
            else:
                result = {"type": "succeeded", "message": reply}
            results.append({"custom_id": request["custom_id"], "result": result})
        now = datetime.now(UTC)
        batch = {
            "id": batch_id, "type": "message_batch", "processing_status": "in_progress",
            "created_at": now.isoformat(), "expires_at": (now + timedelta(days=1)).isoformat(),
            "ended_at": None, "archived_at": None, "cancel_initiated_at": None, "results_url": None,
            "request_counts": {"processing": len(results), "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0},
            "_polls": 0, "_results": results,
        }  # fmt: skip
        self.batches[batch_id] = batch
        self.created.append(batch_id)
        return 200, self._openai_view(batch)

    def _anthropic_retrieve(self, batch_id: str) -> tuple[int, Any]:
        batch = self.batches[batch_id]
        batch["_polls"] += 1
        if batch["processing_status"] != "ended" and batch["_polls"] > self.polls_before_end:
            batch["processing_status"] = "ended"
            batch["ended_at"] = datetime.now(UTC).isoformat()
            batch["results_url"] = self.results_url or f"{self.url}/v1/messages/batches/{batch_id}/results"
            counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
            for result in batch["_results"]:
                counts[result["result"]["type"]] += 1
            batch["request_counts"] = counts
        return 200, self._openai_view(batch)

    def _anthropic_results(self, batch_id: str) -> tuple[int, bytes]:
        return 200, "".join(json.dumps(x) + "\n" for x in self.batches[batch_id]["_results"]).encode()

    # Plumbing -------------------------------------------------------------------------------------

    def _hold(self) -> None:
        with self._lock:
            self.results_downloads += 1
        self.results_requested.set()
        if self.hold_results is not None:
            self.hold_results.wait()

    def _cancel(self, batch_id: str) -> tuple[int, Any]:
        batch = self.batches[batch_id]
        self.cancelled.append(batch_id)
        if "processing_status" in batch:
            batch["processing_status"] = "canceling"
            batch["cancel_initiated_at"] = datetime.now(UTC).isoformat()
        else:
            batch["status"] = "cancelling"
        return 200, self._openai_view(batch)

    def _route(self, method: str, path: str, headers, body: bytes) -> tuple[int, Any]:
        if self.statuses:
            return self.statuses.pop(0), {"error": {"message": "try again", "type": "server_error"}}
        if not self.has_batch_api:
            return 404, {"error": {"message": "Not Found", "type": "not_found_error"}}
        path = path.split("?", 1)[0]
        parts = path.strip("/").split("/")
        if method == "POST" and path == "/v1/files":
            return self._openai_upload(headers, body)
        if method == "POST" and path == "/v1/batches":
            return self._openai_create(json.loads(body))
        if method == "GET" and path == "/v1/batches":
            data = [self._openai_view(b) for b in self.batches.values()]
            return 200, {"object": "list", "data": data, "has_more": False}
        if method == "GET" and parts[:2] == ["v1", "batches"] and len(parts) == 3:
            return self._openai_retrieve(parts[2])
        if method == "GET" and parts[:2] == ["v1", "files"] and parts[-1] == "content":
            return self._file_content(parts[2])
        if method == "POST" and path == "/v1/messages/batches":
            return self._anthropic_create(json.loads(body))
        if method == "GET" and parts[:3] == ["v1", "messages", "batches"] and len(parts) == 4:
            return self._anthropic_retrieve(parts[3])
        if method == "GET" and parts[:3] == ["v1", "messages", "batches"] and parts[-1] == "results":
            return self._anthropic_results(parts[3])
        if method == "POST" and parts[-1] == "cancel":
            return self._cancel(parts[-2])
        return 404, {"error": {"message": f"no route for {method} {path}", "type": "not_found_error"}}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str) -> None:
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length) if length else b""
                if self.path.endswith(("/content", "/results")):
                    server._hold()  # outside the lock: a held download must not block other requests
                with server._lock:
                    status, payload = server._route(method, self.path, self.headers, body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    kind = "application/binary" if isinstance(payload, bytes) else "application/json"
                    self.send_header("content-type", kind)
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the worker reading it was killed, as the resume test intends

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


# The loopback teacher's side ------------------------------------------------------------------------

KEY = "sk-loopback-0123456789"


def answers(provider: str, special: dict[str, object] | None = None):
    """The loopback teacher's answer to each request; `special` overrides it by question."""
    respond = responder(provider)

    def answer(custom_id: str, body: dict) -> dict | str:
        prompt = body["messages"][-1]["content"]
        for question, reply in (special or {}).items():
            if f"Instruction: {question}\n" in prompt:
                return reply
        return respond(SimpleNamespace(body=body)).body

    return answer


def make_teacher(provider: str, server: BatchServer) -> Teacher:
    return Teacher.objects.create(
        name=f"batch-{provider}",
        provider=provider,
        model="test-model",
        base_url=f"{server.url}/v1" if provider == "openai" else server.url,
        api_key_env="LOOPBACK_API_KEY",
        price_input_per_mtok=1,
        price_output_per_mtok=2,
    )
