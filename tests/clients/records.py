"""The record contract every producer program in tests/clients/ follows.

Record i (0 <= i < count) of run RUN produced by client CLIENT has
  key     = "key-<i>"
  value   = "<CLIENT>-<RUN>-<i>|" + pad(i)
  headers = [("seq", "<i>"), ("client", "<CLIENT>")]   (kcat: [("client", "kcat")] only)
pad(i) is 100 letters cycling through a..z starting at letter i % 26, so a batch is non-trivial in size
and any corrupted byte is caught by an exact comparison. The producers in other languages
re-implement these three lines; the verifier is the single place that checks them.
"""

PAD_LEN = 100
_ALPHABET = "abcdefghijklmnopqrstuvwxyz"


def pad(i: int) -> str:
    return "".join(_ALPHABET[(i + j) % 26] for j in range(PAD_LEN))


def key(i: int) -> str:
    return f"key-{i}"


def prefix(client: str, run_id: str) -> str:
    return f"{client}-{run_id}-"


def value(client: str, run_id: str, i: int) -> str:
    return f"{prefix(client, run_id)}{i}|{pad(i)}"


def headers(client: str, i: int, seq_header: bool = True) -> list[list[str]]:
    if not seq_header:
        return [["client", client]]
    return [["seq", str(i)], ["client", client]]
