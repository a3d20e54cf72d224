"""The Open311 GeoReport v2 adapter through the test client: discovery, services and their
definitions from categories, POSTed requests turned into reports (api_key required), GET
requests with the standard's filters and paging, tokens, JSON and XML, and errors in the
standard's shape and status codes."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from contracts.errors import ApiKeyInvalid, NotFound, OutsideGrids

CATEGORY = {
    "code": "road_damage",
    "name": "道路破损",
    "group": "public_facilities",
    "group_zh": "公共设施",
    "kind": "component",
    "keywords": ["道路", "坑洼"],
    "retired": False,
    "attributes": [
        {
            "code": "size",
            "description": "破损面积",
            "datatype": "singlevaluelist",
            "required": True,
            "order": 1,
            "values": [{"key": "small", "name": "小于1平方米"}],
        }
    ],
}
PUBLIC = {
    "id": "c0ffee",
    "number": "AJ202603020007",
    "category": "road_damage",
    "category_name": "道路破损",
    "state": "handling",
    "state_zh": "处置中",
    "status": "open",
    "grid_code": "330424001001-001",
    "grid_name": "一网格",
    "point": [120.9419, 30.5205],
    "agency": "县级部门",
    "created_at": "2026-03-02T02:00:00+00:00",
    "updated_at": "2026-03-02T03:00:00+00:00",
    "deadline": "2026-03-09T02:00:00+00:00",
}
HOTLINE = {"id": "k-12345", "roles": ["hotline"], "scopes": ["330424"], "name": "12345热线"}


def xml(answer):
    assert answer.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert answer.data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return ET.fromstring(answer.data)


def test_discovery_names_the_endpoint_and_its_formats(client):
    found = client.get("/open311/v2/discovery.json").json
    endpoint = found["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2") and "text/xml" in endpoint["formats"]
    root = xml(client.get("/open311/v2/discovery.xml"))
    assert root.tag == "discovery"
    assert [f.text for f in root.find("endpoints/endpoint/formats")] == [
        "application/json",
        "text/xml",
    ]


def test_services_and_a_definition_come_from_the_categories(client, rpc):
    rpc.answer("cases", "list_categories", [CATEGORY])
    services = client.get("/open311/v2/services.json").json
    assert services == [
        {
            "service_code": "road_damage",
            "service_name": "道路破损",
            "description": "道路破损",
            "metadata": True,
            "type": "realtime",
            "keywords": "道路,坑洼",
            "group": "公共设施",
        }
    ]
    root = xml(client.get("/open311/v2/services.xml"))
    assert root.tag == "services" and root.find("service/metadata").text == "true"
    rpc.answer("cases", "get_category", CATEGORY)
    definition = client.get("/open311/v2/services/road_damage.json").json
    assert definition["attributes"][0]["values"] == [{"key": "small", "name": "小于1平方米"}]
    assert definition["attributes"][0]["variable"] is True
    root = xml(client.get("/open311/v2/services/road_damage.xml"))
    assert root.tag == "service_definition"
    assert root.find("attributes/attribute/values/value/key").text == "small"
    rpc.answer("cases", "get_category", NotFound())
    missing = client.get("/open311/v2/services/nothing.xml")
    assert missing.status_code == 404
    assert xml(missing).find("error/code").text == "404"
    assert client.get("/open311/v2/services.yaml").status_code == 404
    assert client.get("/open311/v2/services.json?jurisdiction_id=elsewhere").status_code == 404


def test_posting_a_request_needs_an_intake_key_and_becomes_a_report(client, rpc):
    form = {
        "service_code": "road_damage",
        "lat": "30.5205",
        "long": "120.9419",
        "description": "路面塌陷",
        "first_name": "张",
        "last_name": "三",
        "phone": "13800000000",
        "attribute[size]": "small",
    }
    missing = client.post("/open311/v2/requests.json", data=form)
    assert missing.status_code == 403 and missing.json == [
        {"code": 403, "description": "api_key was not provided"}
    ]
    rpc.answer("identity", "verify_api_key", ApiKeyInvalid())
    wrong = client.post("/open311/v2/requests.xml", data={**form, "api_key": "lx_wrong"})
    assert wrong.status_code == 403 and xml(wrong).find("error/code").text == "403"
    rpc.answer("identity", "verify_api_key", {**HOTLINE, "roles": ["resident"]})
    assert (
        client.post("/open311/v2/requests.json", data={**form, "api_key": "lx_k"}).status_code
        == 403
    )
    rpc.answer("identity", "verify_api_key", HOTLINE)
    rpc.answer("cases", "report", {"id": "c0ffee", "number": "AJ202603020007"})
    answer = client.post("/open311/v2/requests.json", data={**form, "api_key": "lx_k"})
    assert answer.status_code == 200
    assert answer.json[0]["service_request_id"] == "AJ202603020007"
    assert answer.json[0]["token"] == "c0ffee"
    call = rpc.last("cases", "report")
    data, _ = call.args
    assert data == {
        "category": "road_damage",
        "source": "open311",
        "location": {"lat": 30.5205, "lon": 120.9419},
        "description": "路面塌陷",
        "contact": {"name": "张 三", "phone": "13800000000"},
        "attributes": {"size": "small"},
    }
    assert call.kwargs["caller"].actor == "k-12345"
    by_grid = client.post(
        "/open311/v2/requests.json",
        data={"service_code": "road_damage", "address_id": "330424001001-001", "api_key": "lx_k"},
    )
    assert (
        by_grid.status_code == 200
        and rpc.last("cases", "report").args[0]["grid_code"] == "330424001001-001"
    )
    nowhere = client.post(
        "/open311/v2/requests.json",
        data={"service_code": "road_damage", "address_string": "海兴路1号", "api_key": "lx_k"},
    )
    assert nowhere.status_code == 400 and "address_id" in nowhere.json[0]["description"]
    rpc.answer("cases", "report", OutsideGrids(details={"location": [1, 2]}))
    outside = client.post("/open311/v2/requests.xml", data={**form, "api_key": "lx_k"})
    assert outside.status_code == 400 and xml(outside).find("error/code").text == "400"


def test_get_requests_passes_the_standards_filters_and_pages(client, rpc):
    rpc.answer("cases", "public_cases", [PUBLIC])
    answer = client.get(
        "/open311/v2/requests.json?service_code=road_damage,noise&status=open"
        "&start_date=2026-03-01T00:00:00Z&end_date=2026-03-31T00:00:00%2B08:00&page=2&page_size=10"
    )
    assert answer.status_code == 200
    got = answer.json[0]
    assert (got["service_request_id"], got["status"], got["lat"], got["long"]) == (
        "AJ202603020007",
        "open",
        30.5205,
        120.9419,
    )
    assert got["description"] == "道路破损" and got["expected_datetime"] == PUBLIC["deadline"]
    filters = rpc.last("cases", "public_cases").args[0]
    assert filters == {
        "skip": 10,
        "limit": 10,
        "categories": ["road_damage", "noise"],
        "start": "2026-03-01T00:00:00+00:00",
        "end": "2026-03-31T00:00:00+08:00",
        "status": ["open"],
    }
    client.get("/open311/v2/requests.xml?service_request_id=AJ1,AJ2")
    assert rpc.last("cases", "public_cases").args[0] == {
        "skip": 0,
        "limit": 1000,
        "numbers": ["AJ1", "AJ2"],
    }
    root = xml(client.get("/open311/v2/requests.xml"))
    assert (
        root.tag == "service_requests"
        and root.find("request/service_request_id").text == "AJ202603020007"
    )
    assert rpc.last("cases", "public_cases").args[0]["start"]  # 90 days by default
    for bad in (
        "status=pending",
        "start_date=yesterday",
        "page_size=1001",
        "page=0",
        "start_date=2026-03-02T00:00:00Z&end_date=2026-03-01T00:00:00Z",
    ):
        answer = client.get(f"/open311/v2/requests.json?{bad}")
        assert answer.status_code == 400 and answer.json[0]["code"] == 400, bad


def test_one_request_and_a_token(client, rpc):
    rpc.answer("cases", "public_case", PUBLIC)
    assert client.get("/open311/v2/requests/AJ202603020007.json").json[0]["status"] == "open"
    assert client.get("/open311/v2/tokens/c0ffee.json").json == [
        {"service_request_id": "AJ202603020007", "token": "c0ffee"}
    ]
    assert client.get("/open311/v2/tokens/AJ202603020007.json").status_code == 404
    rpc.answer("cases", "public_case", NotFound())
    gone = client.get("/open311/v2/requests/AJ0.xml")
    assert gone.status_code == 404 and xml(gone).find("error/description").text
