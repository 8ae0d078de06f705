"""The web cabinet: server-rendered Russian pages, a client of the gateway's public HTTP API."""
