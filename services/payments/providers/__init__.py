"""Card-payment providers behind one interface (:mod:`.base`): Stripe and a sandbox.

Free of nameko, so the service wraps them in a DependencyProvider and unit tests use them
directly. :func:`.factory.make_provider` picks one from the settings.
"""
