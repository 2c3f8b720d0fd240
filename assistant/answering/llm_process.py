"""The llama.cpp server process: `python -m assistant.answering.llm_process --model FILE ...`.

The model runs in a child process of the assistant rather than inside it, so that a crash of the
native code (or a kill) takes down only the model, which the parent restarts, never the web
server; and so the server can serve (with quoted answers) while the model loads. The child loads
the GGUF into xllamacpp's in-process llama.cpp server on 127.0.0.1, prints one JSON line
(`{"ready": "<address>"}`) on stdout, then lives until its stdin closes: when the parent exits,
however it exits, the child goes with it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def build_params(args: argparse.Namespace):  # noqa: ANN201 - xllamacpp.CommonParams
    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = args.model
    # Each slot gets its own context; continuous batching lets the slots share every decode step.
    params.n_parallel = args.slots
    params.n_ctx = args.ctx * args.slots
    params.cont_batching = True
    params.n_predict = -1
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.hostnames = ["127.0.0.1"]
    params.port = args.port
    params.cache_prompt = True  # the constant system prompt's KV cache is reused across requests
    params.ui = False
    params.warmup = True
    params.verbosity = 0  # llama.cpp's per-token timing lines would drown the app's own logs
    if args.speculative == "ngram":
        # Prompt lookup: answers copy phrases from the passages, so n-grams of the prompt are good drafts.
        params.speculative.types = [xlc.common_speculative_type.COMMON_SPECULATIVE_TYPE_NGRAM_SIMPLE]
    return params


def main() -> None:
    parser = argparse.ArgumentParser(description="llama.cpp server for the ML career assistant (started by it)")
    parser.add_argument("--model", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ctx", type=int, default=4096, help="context tokens per slot")
    parser.add_argument("--slots", type=int, default=1)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--speculative", choices=["none", "ngram"], default="none")
    parser.add_argument("--nice", type=int, default=10, help="CPU priority below the web server's")
    args = parser.parse_args()
    # Below the web server: its searches and quoted answers take milliseconds and must not wait
    # behind the model's decode loop (under load, sources took 1.6 s without this); the model gets
    # every cycle they leave.
    if args.nice and hasattr(os, "nice"):
        os.nice(args.nice)
    import xllamacpp as xlc

    try:
        server = xlc.Server(build_params(args))
    except Exception as exc:  # noqa: BLE001 - the binding raises plain exceptions
        print(json.dumps({"error": f"llama.cpp could not load {args.model}: {exc}"}), flush=True)
        sys.exit(1)
    print(json.dumps({"ready": server.listening_address}), flush=True)
    sys.stdin.read()  # returns at EOF: the parent closed the pipe or died


if __name__ == "__main__":
    main()
