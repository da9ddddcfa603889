#!/usr/bin/env python3
"""Tiny, fast OpenAI-compatible streaming mock server (plain asyncio, no deps).

Endpoints:
  POST /v1/chat/completions, POST /v1/completions  (stream true/false)
  GET  /v1/models, GET /health, POST /tokenize, GET /metrics (empty)

Streaming: N = max_completion_tokens | max_tokens | max_new_tokens (default 16)
SSE chunks of one token "tok " each, then a final chunk with
finish_reason "length", then a usage chunk if stream_options.include_usage,
then "data: [DONE]". No sleeps.

--token-delay-ms D : diagnostic only (default 0): sleep D ms between token
                  writes when --yield-every >= 1, to emulate a real decode rate.
--yield-every K : after every K token chunks, yield to the event loop
                  (await drain) so that tokens are not all coalesced into one
                  TCP segment. 0 (default) = write everything without yielding
                  (kernel/asyncio coalesce freely).
"""
import argparse
import asyncio
import json
import os
import time

MODEL = "mock-model"
TOKEN = "tok "


def _resp(status, body: bytes, ctype=b"application/json"):
    return (b"HTTP/1.1 " + status + b"\r\nContent-Type: " + ctype +
            b"\r\nContent-Length: " + str(len(body)).encode() +
            b"\r\nConnection: keep-alive\r\n\r\n" + body)


def _chunk(payload: bytes) -> bytes:
    # HTTP chunked-encoding frame
    return b"%x\r\n" % len(payload) + payload + b"\r\n"


MODELS_BODY = json.dumps({"object": "list", "data": [
    {"id": MODEL, "object": "model", "created": 0, "owned_by": "mock"}]}).encode()

SSE_HDR = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
           b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n"
           b"Connection: keep-alive\r\n\r\n")

_req_counter = 0


def build_stream(chat: bool, model: str, n: int, usage: bool, prompt_tokens: int):
    """Return (token_frame, tail_bytes); token_frame is written n times."""
    global _req_counter
    _req_counter += 1
    rid = ("chatcmpl-%d" if chat else "cmpl-%d") % _req_counter
    created = int(time.time())
    if chat:
        obj = "chat.completion.chunk"
        tok = {"id": rid, "object": obj, "created": created, "model": model,
               "choices": [{"index": 0, "delta": {"content": TOKEN},
                            "finish_reason": None}]}
        fin = {"id": rid, "object": obj, "created": created, "model": model,
               "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}
    else:
        obj = "text_completion"
        tok = {"id": rid, "object": obj, "created": created, "model": model,
               "choices": [{"index": 0, "text": TOKEN, "logprobs": None,
                            "finish_reason": None}]}
        fin = {"id": rid, "object": obj, "created": created, "model": model,
               "choices": [{"index": 0, "text": "", "logprobs": None,
                            "finish_reason": "length"}]}
    sep = (",", ":")
    frame = _chunk(b"data: " + json.dumps(tok, separators=sep).encode() + b"\n\n")
    tail = _chunk(b"data: " + json.dumps(fin, separators=sep).encode() + b"\n\n")
    if usage:
        u = {"id": rid, "object": obj, "created": created, "model": model,
             "choices": [], "usage": {"prompt_tokens": prompt_tokens,
                                      "completion_tokens": n,
                                      "total_tokens": prompt_tokens + n}}
        tail += _chunk(b"data: " + json.dumps(u, separators=sep).encode() + b"\n\n")
    tail += _chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n"
    return frame, tail


def est_prompt_tokens(req):
    txt = ""
    if "messages" in req:
        for m in req["messages"]:
            c = m.get("content")
            if isinstance(c, str):
                txt += c
            elif isinstance(c, list):
                for p in c:
                    if isinstance(p, dict) and isinstance(p.get("text"), str):
                        txt += p["text"]
    else:
        p = req.get("prompt", "")
        txt = p if isinstance(p, str) else " ".join(map(str, p))
    return max(1, len(txt.split()))


class Stats:
    requests = 0
    tokens = 0


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 yield_every: int, token_delay: float = 0.0):
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            lines = head.split(b"\r\n")
            try:
                method, path, _ = lines[0].split(b" ", 2)
            except ValueError:
                return
            clen = 0
            close = False
            for ln in lines[1:]:
                k, _, v = ln.partition(b":")
                k = k.strip().lower()
                if k == b"content-length":
                    clen = int(v.strip())
                elif k == b"connection" and v.strip().lower() == b"close":
                    close = True
            body = await reader.readexactly(clen) if clen else b""
            path = path.split(b"?", 1)[0]

            if method == b"GET" and path == b"/v1/models":
                writer.write(_resp(b"200 OK", MODELS_BODY))
            elif method == b"GET" and path in (b"/health", b"/v1/health", b"/ping"):
                writer.write(_resp(b"200 OK", b"{}"))
            elif method == b"GET" and path == b"/metrics":
                writer.write(_resp(b"200 OK", b"", b"text/plain"))
            elif method == b"POST" and path in (b"/tokenize", b"/v1/tokenize"):
                req = json.loads(body or b"{}")
                n = est_prompt_tokens(req)
                writer.write(_resp(b"200 OK", json.dumps(
                    {"count": n, "max_model_len": 32768,
                     "tokens": list(range(n))}).encode()))
            elif method == b"POST" and path in (b"/v1/chat/completions", b"/v1/completions"):
                chat = path == b"/v1/chat/completions"
                req = json.loads(body or b"{}")
                n = (req.get("max_completion_tokens") or req.get("max_tokens")
                     or req.get("max_new_tokens") or 16)
                n = int(n)
                model = req.get("model") or MODEL
                usage = bool((req.get("stream_options") or {}).get("include_usage"))
                ptoks = est_prompt_tokens(req)
                Stats.requests += 1
                Stats.tokens += n
                if req.get("stream"):
                    frame, tail = build_stream(chat, model, n, usage, ptoks)
                    writer.write(SSE_HDR)
                    if yield_every <= 0:
                        writer.write(frame * n + tail)
                    else:
                        sent = 0
                        while sent < n:
                            k = min(yield_every, n - sent)
                            writer.write(frame * k)
                            sent += k
                            await writer.drain()
                            await asyncio.sleep(token_delay)
                        writer.write(tail)
                else:
                    text = TOKEN * n
                    if chat:
                        out = {"id": "chatcmpl-x", "object": "chat.completion",
                               "created": int(time.time()), "model": model,
                               "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                            "finish_reason": "length"}]}
                    else:
                        out = {"id": "cmpl-x", "object": "text_completion",
                               "created": int(time.time()), "model": model,
                               "choices": [{"index": 0, "text": text, "finish_reason": "length"}]}
                    out["usage"] = {"prompt_tokens": ptoks, "completion_tokens": n,
                                    "total_tokens": ptoks + n}
                    writer.write(_resp(b"200 OK", json.dumps(out).encode()))
            else:
                writer.write(_resp(b"404 Not Found", b'{"error":"not found"}'))
            await writer.drain()
            if close:
                return
    except Exception as e:  # keep serving other connections
        print("handler error:", repr(e), flush=True)
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--yield-every", type=int, default=0)
    ap.add_argument("--token-delay-ms", type=float, default=0.0,
                    help="diagnostic only: sleep between token writes (needs --yield-every>=1); default 0 = no sleeps")
    a = ap.parse_args()
    srv = await asyncio.start_server(lambda r, w: handle(r, w, a.yield_every, a.token_delay_ms / 1000.0),
                                     a.host, a.port, backlog=1024, limit=1 << 22)
    print(f"fast_server pid={os.getpid()} on {a.host}:{a.port} yield_every={a.yield_every} token_delay_ms={a.token_delay_ms}", flush=True)
    async with srv:
        await srv.serve_forever()


if __name__ == "__main__":
    try:
        import uvloop  # optional, faster loop if installed
        uvloop.install()
    except Exception:
        pass
    asyncio.run(main())
