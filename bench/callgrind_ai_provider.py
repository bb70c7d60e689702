"""A keep-alive HTTP/1.1 mock of an OpenAI-compatible provider (for bench/callgrind_ai.sh).

POST .../chat/completions answers OpenAI's wire format: a `chat.completion`
(content-length), or, when the request body asks for `"stream": true`, a
`text/event-stream` of 12 content chunks, a finish chunk, a usage chunk and
`data: [DONE]`, in chunked transfer encoding with one event a chunk, as
OpenAI sends it (FRAMING=length: one content-length body instead, as
bench/ai.sh's nginx mock sends it). The whole answer goes out in one write,
so the gateway reads it in the same pieces on every run.

Usage: python3 callgrind_ai_provider.py PORT
"""
import asyncio
import json
import os
import sys

FRAMING = os.environ.get("FRAMING", "chunked")
CHAT = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello! How can I help you today?"},
                 "logprobs": None, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 19, "completion_tokens": 9, "total_tokens": 28},
}, separators=(",", ":")).encode()


def chunk(delta, finish=None, usage=None, choices=True):
    return json.dumps({
        "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}] if choices else [],
        "usage": usage,
    }, separators=(",", ":"))


WORDS = ["Hello", "!", " How", " can", " I", " help", " you", " today", "?", " Ask", " away", "."]
EVENTS = [chunk({"content": w}) for w in WORDS]
EVENTS.append(chunk({}, finish="stop"))
EVENTS.append(chunk({}, usage={"prompt_tokens": 19, "completion_tokens": 12, "total_tokens": 31}, choices=False))
EVENTS.append("[DONE]")
EVENTS = [f"data: {e}\n\n".encode() for e in EVENTS]

RESP_CHAT = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(CHAT)) + CHAT
if FRAMING == "length":
    body = b"".join(EVENTS)
    RESP_STREAM = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: %d\r\n\r\n" % len(body) + body
else:
    RESP_STREAM = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n" + b"".join(
        b"%x\r\n%s\r\n" % (len(e), e) for e in EVENTS) + b"0\r\n\r\n"


async def handle(r, w):
    buf = b""
    while True:
        while b"\r\n\r\n" not in buf:
            d = await r.read(65536)
            if not d:
                w.close()
                return
            buf += d
        head, buf = buf.split(b"\r\n\r\n", 1)
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(buf) < length:
            d = await r.read(65536)
            if not d:
                w.close()
                return
            buf += d
        body, buf = buf[:length], buf[length:]
        w.write(RESP_STREAM if b'"stream":true' in body.replace(b" ", b"") else RESP_CHAT)
        await w.drain()


async def main():
    s = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]))
    await s.serve_forever()


asyncio.run(main())
