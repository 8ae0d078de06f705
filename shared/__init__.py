"""Common code of the portal's services and gateway (settings, database, events, errors, logs)."""
import warnings

# nameko needs eventlet; its deprecation banner on every start says nothing actionable.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
