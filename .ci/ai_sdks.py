"""The AI gateway through the providers' own Python SDKs.

Run by .ci/ai_sdks.sh against `keyway serve --demo`: the official `openai`
and `anthropic` clients, pointed at the demo's AI API with a Keyway key,
must work unchanged (chat whole and streamed, embeddings, the model list,
Anthropic messages whole and streamed), and Keyway's refusals must reach
them as the SDKs' own typed errors with Keyway's codes.

Usage: python ai_sdks.py GATEWAY_URL KEY MODEL BUDGET_KEY EMBED_ONLY_KEY
"""

import sys

import anthropic
import openai

gateway, key, model, budget_key, embed_only_key = sys.argv[1:6]
failures = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + (f": {detail}" if detail and not cond else ""))
    if not cond:
        failures.append(name)


oa = openai.OpenAI(base_url=f"{gateway}/ai/v1", api_key=key, max_retries=0)

# Chat, whole.
r = oa.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi there"}])
check("openai chat: an answer", "Hi there" in (r.choices[0].message.content or ""), r)
check("openai chat: usage", r.usage is not None and r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0, r.usage)

# Chat, streamed, with usage.
chunks = list(
    oa.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Stream me"}], stream=True, stream_options={"include_usage": True}
    )
)
text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
check("openai stream: the text", "Stream me" in text, text)
usage = [c.usage for c in chunks if c.usage is not None]
check("openai stream: one usage chunk", len(usage) == 1 and usage[0].total_tokens > 0, usage)

# Tools: the demo model calls the first tool it is offered.
tools = [{"type": "function", "function": {"name": "lookup", "description": "Look a word up.",
          "parameters": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}}}]
r = oa.chat.completions.create(model=model, messages=[{"role": "user", "content": "tea"}], tools=tools, tool_choice="auto")
calls = r.choices[0].message.tool_calls or []
check("openai tools: a tool call", r.choices[0].finish_reason == "tool_calls" and calls and calls[0].function.name == "lookup", r)

# Embeddings and the model list.
e = oa.embeddings.create(model="demo-embed", input=["one", "two"])
check("openai embeddings", len(e.data) == 2 and len(e.data[0].embedding) > 0, e)
names = sorted(m.id for m in oa.models.list())
check("openai models", model in names and "demo-embed" in names, names)

# Refusals as the SDK's typed errors.
try:
    oa.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    check("openai: unknown model refused", False)
except openai.NotFoundError as err:
    check("openai: unknown model -> NotFoundError model_unknown", err.code == "model_unknown", err)
try:
    openai.OpenAI(base_url=f"{gateway}/ai/v1", api_key="kw_live_" + "0" * 36, max_retries=0).models.list()
    check("openai: bad key refused", False)
except openai.AuthenticationError as err:
    check("openai: bad key -> AuthenticationError", err.status_code == 401, err)

try:
    openai.OpenAI(base_url=f"{gateway}/ai/v1", api_key=embed_only_key, max_retries=0).chat.completions.create(
        model=model, messages=[{"role": "user", "content": "x"}]
    )
    check("openai: a model the key may not use refused", False)
except openai.PermissionDeniedError as err:
    check("openai: model_not_allowed -> PermissionDeniedError", err.code == "model_not_allowed", err)
try:
    openai.OpenAI(base_url=f"{gateway}/ai/v1", api_key=budget_key, max_retries=0).chat.completions.create(
        model=model, messages=[{"role": "user", "content": "x"}]
    )
    check("openai: a used-up budget refused", False)
except openai.RateLimitError as err:
    check("openai: budget_exceeded -> RateLimitError", err.code == "budget_exceeded", err)

an = anthropic.Anthropic(base_url=f"{gateway}/ai", api_key=key, max_retries=0)

# Messages, whole.
m = an.messages.create(model=model, max_tokens=100, system="Be brief.", messages=[{"role": "user", "content": "Hello Claude"}])
check("anthropic messages: an answer", m.type == "message" and "Hello Claude" in m.content[0].text, m)
check("anthropic messages: usage", m.usage.input_tokens > 0 and m.usage.output_tokens > 0, m.usage)

# Messages, streamed.
with an.messages.stream(model=model, max_tokens=100, messages=[{"role": "user", "content": "Stream Claude"}]) as s:
    streamed = "".join(s.text_stream)
    final = s.get_final_message()
check("anthropic stream: the text", "Stream Claude" in streamed, streamed)
check("anthropic stream: final usage", final.usage.output_tokens > 0, final.usage)

# Tools, in Anthropic's format, from an OpenAI-format provider.
m = an.messages.create(
    model=model, max_tokens=100, messages=[{"role": "user", "content": "coffee"}],
    tools=[{"name": "lookup", "description": "Look a word up.",
            "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}}}],
)
uses = [b for b in m.content if b.type == "tool_use"]
check("anthropic tools: a tool_use block", m.stop_reason == "tool_use" and uses and uses[0].name == "lookup"
      and uses[0].input == {"text": "coffee"}, m)

try:
    anthropic.Anthropic(base_url=f"{gateway}/ai", api_key=budget_key, max_retries=0).messages.create(
        model=model, max_tokens=10, messages=[{"role": "user", "content": "x"}]
    )
    check("anthropic: a used-up budget refused", False)
except anthropic.RateLimitError as err:
    check("anthropic: budget_exceeded -> RateLimitError", "budget_exceeded" in str(err), err)
try:
    anthropic.Anthropic(base_url=f"{gateway}/ai", api_key="kw_live_" + "0" * 36, max_retries=0).messages.create(
        model=model, max_tokens=10, messages=[{"role": "user", "content": "x"}]
    )
    check("anthropic: bad key refused", False)
except anthropic.AuthenticationError as err:
    check("anthropic: bad key -> AuthenticationError", err.status_code == 401, err)

try:
    an.messages.create(model="no-such-model", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    check("anthropic: unknown model refused", False)
except anthropic.NotFoundError as err:
    check("anthropic: unknown model -> NotFoundError", "model_unknown" in str(err), err)

if failures:
    print(f"{len(failures)} failed: {failures}")
    sys.exit(1)
print("all SDK checks passed")
