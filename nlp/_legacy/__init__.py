"""Frozen copy of the vendor-signal code that issue 13 changed (claims, checksums and the crypto
finders that use them, the extractor loop), kept only so tests/nlp/test_nlp_golden.py can prove the
current code gives identical output; the signals component selects it with `legacy = true`. Not
used in production; delete together with that test once the new path is the only one."""
