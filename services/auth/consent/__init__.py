"""The texts of the personal-data consent, one file per version: ``<version>.txt``, the first
line its title (shipped with the package; read by services.auth.domain.consent)."""
