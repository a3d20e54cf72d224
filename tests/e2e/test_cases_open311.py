"""Open311 GeoReport v2 on the whole system: the hotline's API key (made by the operator)
posts a request located to a demo grid; it is found again as XML and JSON by id, by token
and in the filtered list, anonymous; without a key, or a key that may not report, 403."""

from __future__ import annotations

import xml.etree.ElementTree as ET


def test_an_open311_client_reports_and_follows_a_request(system):
    admin = system.login("admin")["access_token"]
    made = system.call(
        "POST",
        "/api/v1/admin/api-keys",
        admin,
        json={"name": "12345热线", "roles": ["hotline"], "scopes": ["330424"]},
    )
    assert made.status_code == 201, made.text
    key = made.json()["key"]
    services = system.call("GET", "/open311/v2/services.json").json()
    assert {"road_damage", "noise"} <= {s["service_code"] for s in services}
    definition = ET.fromstring(system.call("GET", "/open311/v2/services/road_damage.xml").content)
    assert definition.find("attributes/attribute/code").text == "size"

    form = {
        "service_code": "road_damage",
        "lat": "30.5195",
        "long": "120.94087",
        "description": "小区门口路面塌陷",
        "phone": "13800001111",
        "attribute[size]": "medium",
    }
    refused = system.call("POST", "/open311/v2/requests.xml", data=form)
    assert refused.status_code == 403
    assert ET.fromstring(refused.content).find("error/code").text == "403"
    missing = system.call(
        "POST", "/open311/v2/requests.json", data={**form, "api_key": key, "attribute[size]": ""}
    )
    assert missing.status_code == 400 and any("size" in e["description"] for e in missing.json())
    posted = system.call("POST", "/open311/v2/requests.json", data={**form, "api_key": key})
    assert posted.status_code == 200, posted.text
    answer = posted.json()[0]
    number, token = answer["service_request_id"], answer["token"]

    one = ET.fromstring(system.call("GET", f"/open311/v2/requests/{number}.xml").content)
    request = one.find("request")
    assert request.find("service_code").text == "road_damage"
    assert request.find("status").text == "open"
    assert "13800001111" not in system.call("GET", f"/open311/v2/requests/{number}.json").text
    assert system.call("GET", f"/open311/v2/tokens/{token}.json").json() == [
        {"service_request_id": number, "token": token}
    ]
    listed = system.call(
        "GET", "/open311/v2/requests.json", params={"service_code": "road_damage", "status": "open"}
    ).json()
    assert number in [r["service_request_id"] for r in listed]
    closed_only = system.call(
        "GET",
        "/open311/v2/requests.json",
        params={"service_code": "road_damage", "status": "closed"},
    ).json()
    assert number not in [r["service_request_id"] for r in closed_only]
    paged = system.call(
        "GET", "/open311/v2/requests.json", params={"page_size": 1, "page": 1}
    ).json()
    assert len(paged) == 1
    assert system.call("GET", "/open311/v2/requests/AJ000.json").status_code == 404
