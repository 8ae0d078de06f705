"""Every protected route that names a resource refuses a user who does not own it."""
from __future__ import annotations

import re

from gateway.routes import ROUTES
from tests.integration.helpers import bearer, new_phone, register_by_phone
from tests.integration.test_accounts import link, post_account
from tests.unit.test_requests_attachments import sample_pdf, upload

# A well-formed body per RPC, so the refusal comes from ownership, not from the shape.
BODIES = {
    "accounts.set_paperless": {"paperless": False},
    "accounts.grant_access": {"phone": "+79180000000", "access": "read"},
    "readings.submit": {"meter_serial": "1000911502333", "values": [1]},
    "readings.preview": {"meter_serial": "1000911502333", "values": [1]},
    "readings.read_photo": {"image_base64": "aGVsbG8="},
    "requests.post_message": {"text": "Чья это заявка?"},
    "payments.set_autopay": {"card_ref": "pm_sbx_x"},
    "documents.upload_document": {"doc_type": "passport_copy", **upload(sample_pdf())},
    "documents.review_document": {"decision": "reject", "reason": "Чужой документ"},
}


def test_a_stranger_is_refused_on_every_route_that_names_a_resource(sys):
    owner = register_by_phone(sys, new_phone())
    account_id = link(sys, owner, post_account(sys)).json["id"]
    stranger = register_by_phone(sys, new_phone())
    request = sys.client.post("/api/v1/requests", headers=bearer(owner), json={
        "work": "meter_replacement", "message": "Замените счётчик", "account_id": account_id,
        "contact_phone": "+79180000000", "attachments": [upload(sample_pdf())]}).json
    values = {"account_id": account_id, "user_id": owner["user"]["id"], "notice_id": 1,
              "request_id": request["id"], "code": "other",
              "attachment_id": request["messages"][0]["attachments"][0]["id"]}
    document = sys.client.post(f"/api/v1/accounts/{account_id}/documents", headers=bearer(owner),
                               json=BODIES["documents.upload_document"]).json
    values.update(document_id=document["id"], period="2026-10")
    from tests.integration.test_identity_data import blank_photo

    job = sys.client.post(f"/api/v1/accounts/{account_id}/readings/photo", headers=bearer(owner),
                          json={"image_base64": blank_photo()})
    assert job.status_code == 202, job.json
    values["job_id"] = job.json["job_id"]
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
            "readings.meters", "readings.photo_job", "requests.get", "requests.cancel", "requests.post_message",
            "requests.attachment", "requests.accept", "requests.save_work",
            "documents.bills", "documents.bill", "documents.my_documents",
            "documents.upload_document", "documents.withdraw_document",
            "documents.document_file", "documents.open_document",
            "documents.review_document"} <= set(checked)
    # and the owner still has it all
    assert sys.client.get(f"/api/v1/accounts/{account_id}", headers=bearer(owner)).status_code == 200
    mine = sys.client.get(f"/api/v1/accounts/{account_id}/documents",
                          headers=bearer(owner)).json["items"]
    assert [(d["id"], d["status"]) for d in mine] == [(document["id"], "submitted")]
