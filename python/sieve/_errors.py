"""The exceptions and warnings of the sieve package."""


class SieveError(RuntimeError):
    """A failure reported by libsieve (a compile, a launch, the driver)."""


class SpecError(SieveError, ValueError):
    """A spec that sieve cannot read: its message is located (file or
    <spec>, JSON pointer or line:column)."""


class SieveWarning(UserWarning):
    """What did not stop a compile but deserves attention (a pattern that
    attends nothing, a kernel cache that could not be used)."""


# Shown as sieve.SpecError, where users import them from.
for _cls in (SieveError, SpecError, SieveWarning):
    _cls.__module__ = "sieve"
