"""Test doubles shared by the tests and the benchmarks (one copy each): a fake embedder and a fake
OpenAI-compatible LLM server on 127.0.0.1. They live beside the tests, not in the package: nothing a
user runs needs them, and an HTTP server is not something qualcode should ship."""
