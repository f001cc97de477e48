"""Bytes in, value objects out: email parsing, classification, form readers and the type gate."""
