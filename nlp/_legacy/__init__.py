"""Frozen copy of the detection code before issue 13 (one scan per document), kept only so
tests/test_nlp_golden.py can prove the new path gives identical output. Not used in production;
delete together with that test once the new path is the only one."""
