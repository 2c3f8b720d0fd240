"""Answering: from numbered passages to the answer the user reads (quoted, generated, or honest about gaps)."""
