"""Loopback servers with generated configs in a temp dir: nginx (the HTTP/TCP target) and blackbox_exporter."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support import free_port

from .procs import Child, spawn, wait_http, wait_port

NGINX_CONF = """\
daemon off;
master_process on;
worker_processes {workers};
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 16384; }}
http {{
    access_log off;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{ default_type text/plain; return 200 "ok\\n"; }}
    }}
}}
"""

BLACKBOX_CONF = """\
modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
  tcp_connect:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
"""


def require(binary: str) -> str:
    path = shutil.which(binary) or (
        f"/usr/sbin/{binary}" if Path(f"/usr/sbin/{binary}").exists() else None
    )
    if not path:
        raise RuntimeError(
            f"{binary} is not installed; it comes from Debian (see APT_PACKAGES in .ci/run)"
        )
    return path


async def start_nginx(workdir: Path, workers: int = 1) -> tuple[Child, int]:
    """nginx answering 200 "ok" on 127.0.0.1:PORT for every path; returns (child, port)."""
    nginx = require("nginx")
    port = free_port()
    conf_dir = workdir / f"nginx-{port}"
    (conf_dir / "tmp").mkdir(parents=True)
    conf = conf_dir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=conf_dir, port=port, workers=workers))
    child = spawn(
        f"nginx-{port}",
        [nginx, "-c", str(conf), "-p", str(conf_dir), "-e", str(conf_dir / "nginx-error.log")],
        workdir,
    )
    await wait_port(port, child)
    return child, port


async def start_blackbox(workdir: Path) -> tuple[Child, int]:
    """prometheus-blackbox-exporter with http_2xx and tcp_connect modules; returns (child, port)."""
    binary = require("prometheus-blackbox-exporter")
    port = free_port()
    conf = workdir / "blackbox.yml"
    conf.write_text(BLACKBOX_CONF)
    child = spawn(
        "blackbox",
        [binary, f"--config.file={conf}", f"--web.listen-address=127.0.0.1:{port}"],
        workdir,
    )
    await wait_http(f"http://127.0.0.1:{port}/metrics", child)
    return child, port
