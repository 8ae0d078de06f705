"""Every protected route that names a resource refuses a user who does not own it."""
from __future__ import annotations

import re

from gateway.routes import ROUTES
from tests.integration.helpers import bearer, new_phone, register_by_phone
from tests.integration.test_accounts import link, post_account

# A well-formed body per RPC, so the refusal comes from ownership, not from the shape.
BODIES = {
    "accounts.set_paperless": {"paperless": False},
    "accounts.grant_access": {"phone": "+79180000000", "access": "read"},
    "readings.submit": {"meter_serial": "1000911502333", "values": [1]},
    "readings.preview": {"meter_serial": "1000911502333", "values": [1]},
    "readings.read_photo": {"image_base64": "aGVsbG8="},
}


def test_a_stranger_is_refused_on_every_route_that_names_a_resource(sys):
    owner = register_by_phone(sys, new_phone())
    account_id = link(sys, owner, post_account(sys)).json["id"]
    stranger = register_by_phone(sys, new_phone())
    values = {"account_id": account_id, "user_id": owner["user"]["id"], "notice_id": 1}
    checked = []
    for route in ROUTES:
        names = {name for name, _ in route.path_params}
        if not route.auth or not names & set(values):  # /profile/<tab> is always one's own
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route.path)
        response = sys.client.open(f"/api/v1{path}", method=route.method, headers=bearer(stranger),
                                   json=BODIES.get(route.rpc, {}) if route.schema else None)
        assert response.status_code in (403, 404), (route.method, route.path, response.json)
        checked.append(route.rpc)
    assert {"accounts.get_account", "accounts.unlink_account", "accounts.revoke_access",
            "accounts.mark_notice_read", "readings.submit", "readings.history",
            "readings.meters"} <= set(checked)
    # and the owner still has it all
    assert sys.client.get(f"/api/v1/accounts/{account_id}", headers=bearer(owner)).status_code == 200
