"""Chat commands and thread replies, one grammar for every platform; adapters only translate and render."""
