"""The reference serializer: pure-Python pickle, a safe analyzer, marshal and canonical JSON."""
