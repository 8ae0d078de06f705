"""The portal's nameko services, one package each; none imports another."""
