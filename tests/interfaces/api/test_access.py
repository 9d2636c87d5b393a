"""No way in from a web page: Host and Origin checks, and the execution policy over REST."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from dunes.config import get_settings
from dunes.maml import generate_keypair, load_private_key, sign_document
from dunes.services.access import AccessPolicy
from tests.interfaces.api.conftest import ClientFactory, serve
from tests.maml.conftest import doc

EVIL = "evil.example.com"


def document(marker: Path) -> str:
    """An unsigned document whose front matter allows execute and whose bash block writes
    ``marker``: what a web page would post."""
    return doc(f"## Touch\n```bash {{name=touch}}\nid > {marker}\n```\n")


@pytest.mark.slow
def test_the_rebinding_request_is_refused_by_a_real_server(tmp_path: Path) -> None:
    with serve(tmp_path / "data") as base_url:
        port = base_url.rsplit(":", 1)[1]
        evil = subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", f"Host: {EVIL}",
             f"{base_url}/v1/gpus"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert evil.stdout == "421"
        for host in (f"localhost:{port}", f"127.0.0.1:{port}"):
            ok = httpx.get(f"{base_url}/v1/gpus", headers={"Host": host}, timeout=30)
            assert ok.status_code == 200, (host, ok.text)
        # The seed's curl and the README's keep working (no Origin, a loopback Host).
        for path, body in (
            ("/orchestrate-quantum-simulation", '{"task":"Design a 4-qubit GHZ state"}'),
            ("/v1/simulate", '{"circuit":"h(0); cx(0,1)","shots":1000}'),
        ):
            done = subprocess.run(
                ["curl", "-s", "-X", "POST", f"http://localhost:{port}{path}",
                 "-H", "Content-Type: application/json", "-d", body],
                capture_output=True, text=True, timeout=180,
            )  # fmt: skip
            assert '"circuit"' in done.stdout, done.stdout


async def test_foreign_host_and_origin_are_refused_with_problems(
    make_client: ClientFactory,
) -> None:
    async with make_client() as client:
        misdirected = await client.get("/v1/gpus", headers={"Host": EVIL})
        assert misdirected.status_code == 421
        assert misdirected.json()["field"] == "host"
        posted = await client.post(
            "/v1/simulate",
            json={"circuit": "h(0)"},
            headers={"Origin": f"http://{EVIL}"},
        )
        assert posted.status_code == 403 and posted.json()["field"] == "origin"
        null = await client.post(
            "/v1/simulate", json={"circuit": "h(0)"}, headers={"Origin": "null"}
        )
        assert null.status_code == 403
        same = await client.post(
            "/v1/simulate", json={"circuit": "h(0)"}, headers={"Origin": "http://localhost"}
        )
        assert same.status_code == 200, same.text
        # Reading is not changing: a GET with an Origin passes (CORS keeps its body from a
        # foreign page, since no Access-Control-Allow-Origin is sent).
        read = await client.get("/v1/gpus", headers={"Origin": f"http://{EVIL}"})
        assert read.status_code == 200
        assert "access-control-allow-origin" not in read.headers


async def test_configured_names_and_origins_are_let_in(make_client: ClientFactory) -> None:
    settings = get_settings(
        api={"allowed_hosts": ["dunes.example.org"], "cors_origins": ["https://app.example.org"]}
    )
    async with make_client(settings=settings) as client:
        named = await client.get("/v1/gpus", headers={"Host": "dunes.example.org"})
        assert named.status_code == 200
        cors = await client.post(
            "/v1/simulate",
            json={"circuit": "h(0)"},
            headers={"Origin": "https://app.example.org"},
        )
        assert cors.status_code == 200
        assert cors.headers["access-control-allow-origin"] == "https://app.example.org"
        assert (await client.get("/v1/gpus", headers={"Host": EVIL})).status_code == 421


def test_off_loopback_keys_guard_and_the_host_check_follows_configuration() -> None:
    keyed = get_settings(api={"api_keys": ["k"]})
    open_names = AccessPolicy(keyed.api, host="0.0.0.0")
    assert open_names.keys.required and open_names.host_allowed("10.1.2.3:8000")
    narrowed = AccessPolicy(
        get_settings(api={"api_keys": ["k"], "allowed_hosts": ["dunes.lan"]}).api, host="0.0.0.0"
    )
    assert narrowed.host_allowed("dunes.lan:8000") and not narrowed.host_allowed(EVIL)
    loop = AccessPolicy(get_settings().api, host="127.0.0.1")
    assert loop.host_allowed("[::1]:8000") and loop.host_allowed("LOCALHOST")
    assert not loop.host_allowed(EVIL) and not loop.host_allowed(None)


async def test_an_unsigned_document_never_runs_its_block_over_rest(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    marker = tmp_path / "x"
    async with make_client() as client:
        refused = await client.post("/v1/maml/run", json={"document": document(marker)})
        assert refused.status_code == 403, refused.text
        assert "trusted key" in refused.json()["detail"]
        job = await client.post("/v1/jobs", json={"maml": document(marker)})
        assert job.status_code in (200, 201, 202), job.text
        done = await client.get(
            f"/v1/jobs/{job.json()['job_id']}/result", params={"wait": True, "timeout": 120}
        )
        assert done.json()["status"] == "failed"
        assert "trusted key" in done.json()["error"]
    assert not marker.exists()


async def test_a_document_signed_by_a_trusted_key_runs_over_rest(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    private_file, public_file = generate_keypair(tmp_path / "keys" / "signer")
    private = load_private_key(private_file.read_bytes())
    marker = tmp_path / "x"
    settings = get_settings(maml={"trusted_keys": [str(public_file)]})
    async with make_client(settings=settings) as client:
        signed = sign_document(document(marker), private)
        ran = await client.post("/v1/maml/run", json={"document": signed})
        assert ran.status_code == 200, ran.text
        assert ran.json()["status"] == "ok" and ran.json()["signed"] is True
    assert marker.read_text().startswith("uid=")
