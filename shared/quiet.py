"""eventlet announces its own deprecation at import; that one warning, and
nothing else, is filtered (nameko 2.14 runs on eventlet by design)."""
import warnings


def quiet_eventlet():
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
