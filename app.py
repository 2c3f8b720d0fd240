"""`python app.py`: the web chat and HTTP API on http://127.0.0.1:7860 with the shipped index."""

import logging

from assistant.serving.api import run_server

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    run_server()
