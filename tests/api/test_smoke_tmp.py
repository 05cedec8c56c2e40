from tests.api.conftest import create
async def test_smoke(client):
    t = await create(client)
    print(t)
    for body in [{"name": "x"}, {"name": "y", "kind": "tcp", "host": "::1", "port": 80, "bogus": 1}, {"name":"z","kind":"http","url":"ftp://x"}, {"name":"w","kind":"http","url":"http://a","interval_s":"60"}]:
        r = await client.post("/api/v1/targets", json=body)
        print(r.status_code, r.text)
    r = await client.post("/api/v1/targets", content=b"{bad", headers={"content-type": "application/json"})
    print(r.status_code, r.text)
    r = await client.patch(f"/api/v1/targets/{t['id']}", json={"interval_s": 5})
    print(r.status_code, r.text)
    r = await client.patch(f"/api/v1/targets/{t['id']}", json={"kind": "tcp", "port": 5})
    print(r.status_code, r.text)
    r = await client.patch(f"/api/v1/targets/{t['id']}", json={"kind": "tcp", "port": 5, "host": "example.com"})
    print(r.status_code, r.text)
    for p in ["/api/v1/summary", f"/api/v1/targets/{t['id']}/uptime", f"/api/v1/targets/{t['id']}/uptime/daily?days=3", f"/api/v1/targets/{t['id']}/latency", "/api/v1/incidents", f"/api/v1/targets/{t['id']}/checks", "/metrics", "/readyz", "/api/v1/targets/99/checks", "/api/v1/targets?cursor=zzz"]:
        r = await client.get(p)
        print(p, r.status_code, r.text[:600])
    r = await client.post("/api/v1/targets", content=b"x" * 70000, headers={"content-type": "application/json"})
    print(r.status_code, r.text)
    r = await client.post("/api/v1/apply?dry_run=true", json={"targets": [{"name": "web", "kind": "tcp", "host": "example.com", "port": 6}, {"name": "new", "kind": "icmp", "host": "127.0.0.1"}]})
    print(r.status_code, r.text)
    r = await client.delete(f"/api/v1/targets/{t['id']}")
    print(r.status_code, r.text)
