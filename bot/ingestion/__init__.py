"""Turning outside listings (HF pages and JSON, arXiv Atom and RSS) into `ParsedPaper`s and storing them."""
