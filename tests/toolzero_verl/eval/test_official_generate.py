"""`toolzero-eval bfcl-official generate` through BFCL's real generation pipeline on CPU: BFCL's own
`bfcl generate` drives our handler (prompt, chat template, multi-turn loop with our decode_execute and
BFCL's simulated APIs) against a stand-in OpenAI-compatible server (`--skip-server-setup`, as with an
external vLLM server) that answers each prompt with its answer key; BFCL's evaluator then scores the
results. Only the model is replaced: every step BFCL runs for a real checkpoint runs here.
"""

from __future__ import annotations

import json
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from toolzero_verl.eval import manifest as mf
from toolzero_verl.eval import official
from toolzero_verl.eval.cli import main
from toolzero_verl.testing import bfcl_canned as canned

pytestmark = pytest.mark.bfcl

FMT = "answer"
# category -> (first, count) of the entries generated: every kind of BFCL entry, a few each. The
# multi-turn categories are variants of one another (miss_func_3 is base_3 with a function held out),
# so each takes different entries.
PICK = {
    "simple_python": (0, 3), "simple_java": (0, 2), "simple_javascript": (0, 2), "parallel_multiple": (0, 2),
    "irrelevance": (0, 2), "live_multiple": (0, 2), "live_relevance": (0, 1), "multi_turn_base": (0, 2),
    "multi_turn_miss_func": (3, 1), "multi_turn_miss_param": (5, 1), "multi_turn_long_context": (7, 1),
}
NO_KEY = ("irrelevance", "live_irrelevance", "live_relevance")


HOLDOUT = None  # a miss_func turn whose user message BFCL writes itself (the held-out function docs)
_USER = re.compile(r"<\|im_start\|>user\n(.*?)<\|im_end\|>", re.S)
_LAST = re.compile(r"<\|im_start\|>(\w+)\n(?:(?!<\|im_start\|>).)*<\|im_end\|>\n<\|im_start\|>assistant\n$", re.S)


class Oracle:
    """Knows each picked entry's answer: the reply to a prompt is its answer key (single-turn) or the
    current turn's ground-truth calls, then a prose reply once their results are back (multi-turn).
    An entry is recognised by its user messages (miss_func entries share their first turn with base)."""

    def __init__(self, data):
        self.single: dict[str, str] = {}
        self.multi: list[tuple[list, list[str]]] = []
        for cat, (questions, answers) in data.items():
            for q in questions:
                if cat.startswith("multi_turn"):
                    assert all(len(turn) <= 1 for turn in q["question"])  # one user message per turn
                    users = [turn[0]["content"] if turn else HOLDOUT for turn in q["question"]]
                    turns = canned.multi_turn_response(FMT, q, answers[q["id"]])
                    self.multi.append((users, [t[0] for t in turns]))
                else:
                    entry = canned.entry_of(q, answers.get(q["id"]))
                    question = q["question"][0][-1]["content"]
                    assert question not in self.single  # the last user message tells the picked entries apart
                    self.single[question] = canned.answer_key_response(FMT, entry, cat)
        self.prompts: list[str] = []

    def reply(self, prompt: str) -> str:
        self.prompts.append(prompt)
        seen = _USER.findall(prompt)
        matches = [turns for users, turns in self.multi if len(seen) <= len(users) and all(
            u == s if u is not HOLDOUT else "I have updated some more functions" in s for u, s in zip(users, seen))]
        if matches:
            assert len(matches) == 1, "two picked multi-turn entries share their user messages"
            last = _LAST.search(prompt)
            if last and last.group(1) == "tool":
                return canned.render(FMT, [])  # the turn's calls were executed: finish the turn
            return matches[0][len(seen) - 1]
        return self.single[seen[-1]]


def serve(oracle: Oracle) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _json(self, obj):
            body = json.dumps(obj).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # BFCL polls /v1/models until the server is up
            self._json({"object": "list", "data": [{"id": "tiny", "object": "model"}]})

        def do_POST(self):  # /v1/completions
            req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            text = oracle.reply(req["prompt"])
            self._json({"id": "c", "object": "text_completion", "created": 0, "model": req["model"],
                        "choices": [{"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture()
def tiny_model(tmp_path: Path) -> Path:
    """A folder BFCL accepts as --local-model-path: config.json and the tiny tokenizer with its chat template."""
    from transformers import Qwen2Config

    from toolzero_verl.testing.tiny_tokenizer import build_tiny_tokenizer

    path = tmp_path / "tiny-hf"
    build_tiny_tokenizer(path)
    Qwen2Config(vocab_size=600, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                num_key_value_heads=1, max_position_embeddings=65536).save_pretrained(path)
    return path


def test_bfcl_generate_drives_our_handler_then_bfcl_evaluate_scores_it(tmp_path, tiny_model, monkeypatch):
    os.environ.setdefault("BFCL_PROJECT_ROOT", str(tmp_path / "bfcl_import_root"))
    official._bfcl()
    from bfcl_eval.constants.eval_config import TEST_IDS_TO_GENERATE_PATH
    from bfcl_eval.utils import load_dataset_entry, load_ground_truth_entry

    data = {}
    for cat, (first, n) in PICK.items():
        questions = load_dataset_entry(cat, include_prereq=False, include_language_specific_hint=False)[first:first + n]
        answers = {} if cat in NO_KEY else {a["id"]: a["ground_truth"] for a in load_ground_truth_entry(cat)}
        data[cat] = (questions, answers)
    oracle = Oracle(data)
    server = serve(oracle)
    monkeypatch.setenv("LOCAL_SERVER_ENDPOINT", "127.0.0.1")
    monkeypatch.setenv("LOCAL_SERVER_PORT", str(server.server_address[1]))
    Path(TEST_IDS_TO_GENERATE_PATH).write_text(json.dumps({c: [q["id"] for q in qs] for c, (qs, _) in data.items()}))
    root = tmp_path / "run"
    try:
        assert main(["bfcl-official", "generate", "--output-format", FMT, "--model-path", str(tiny_model),
                     "--project-root", str(root), "--categories", ",".join(PICK),
                     "--", "--skip-server-setup", "--run-ids", "--num-threads", "1"]) == 0
    finally:
        server.shutdown()
    # our handler's prompt reached the server: the training system prompt through the chat template
    assert oracle.prompts and all(p.startswith("<|im_start|>system\nYou are an assistant that can call functions")
                                  and p.endswith("<|im_start|>assistant\n") for p in oracle.prompts)
    results = [json.loads(line) for f in (root / "result").rglob("*_result.json") for line in f.open()]
    assert len(results) == sum(n for _, n in PICK.values())
    assert not any("Error during inference" in str(r["result"]) for r in results)

    out = root / "m.json"
    assert main(["bfcl-official", "evaluate", "--output-format", FMT, "--project-root", str(root),
                 "--categories", ",".join(PICK), "--partial-eval", "--json-out", str(out)]) == 0
    metrics = json.loads(out.read_text())
    assert {c: (r["correct"], r["total"]) for c, r in metrics["categories"].items()} == {
        c: (n, n) for c, (_, n) in PICK.items()}
    generation = metrics["manifest"]["generation"]
    assert generation["chat_template_sha256"] == mf.sha256_text(mf.chat_template(tiny_model))
    assert generation["sampling"]["temperature"] == official.BFCL_DEFAULT_TEMPERATURE
    assert generation["model"]["path"] == str(tiny_model.resolve())
