"""Which torch sieve.torch and Pattern.to_block_mask need."""


def version():
    """The installed torch's (major, minor), or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    parts = torch.__version__.split("+")[0].split(".")
    return int(parts[0]), int(parts[1])


def require(minimum, what):
    """Raises ImportError naming `what` when torch is older than `minimum`."""
    have = version()
    if have is None or have < minimum:
        found = "no torch" if have is None else f"torch {have[0]}.{have[1]}"
        raise ImportError(f"{what} needs torch >= {minimum[0]}.{minimum[1]}, but found {found}")
