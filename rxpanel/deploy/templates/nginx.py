"""The nginx site of one app: static frontend of the release, backend on the live port."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from rxpanel.deploy.templates import live

# The client's address as nginx saw it, not what the client says it is: a header
# it sends (X-Forwarded-For: 1.2.3.4) would be passed through by
# $proxy_add_x_forwarded_for, and the backend would believe it.
PROXY_HEADERS = """\
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Forwarded-Proto $scheme;"""

SITE = """\
# Managed by rxpanel: app {app}, release {release}, {color} backend on port {port}.
# Rewritten at every deploy and rollback; edits here are lost.
map $http_accept $rxpanel_{var}_html {{
    default 0;
    "~text/html" 1;
}}

upstream rxpanel_{var} {{
    server 127.0.0.1:{port};
    keepalive 16;
}}
{redirect}
server {{
{listen}
    server_name {server_name};
    root {root};
    index index.html;
    gzip_static on;
    client_max_body_size 100m;

    # Default security headers, on error pages too (`always`). A location with an
    # add_header of its own drops the server's: /assets/ repeats them.
{security}

    # Reflex's websocket: upgrade headers and long timeouts.
    location /_event {{
        proxy_pass http://rxpanel_{var};
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
{headers}
        proxy_read_timeout 1d;
        proxy_send_timeout 1d;
        proxy_buffering off;
    }}

    location ~ ^/(ping|_health|_upload)(/|$) {{
        proxy_pass http://rxpanel_{var};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
{headers}
        proxy_request_buffering off;
    }}

    # Hashed build assets never change. A tab still on the previous release's
    # bundle may ask for one this release has not: the previous release has it.
    location /assets/ {{
        expires max;
        add_header Cache-Control "public, immutable";
{assets_security}
        try_files $uri {previous_assets};
    }}
{previous_location}
    # The live release, for the tabs of an older one (see /_rxpanel/live.js).
    location = /_rxpanel/release {{
        default_type application/json;
        add_header Cache-Control "no-store" always;
{assets_security}
        return 200 '{{"release": "{release}", "mode": "{new_release_mode}"}}';
    }}

    location = /_rxpanel/live.js {{
        default_type application/javascript;
        add_header Cache-Control "no-cache" always;
{assets_security}
        return 200 '{live_js}';
    }}

    # The prerendered page, to every client; if it cannot be read, the backend.
    location = / {{
{live_tag}
        try_files /index.html @backend;
    }}

    # A static file if there is one, else the backend (the app's own API routes).
    location / {{
{live_tag}
        try_files $uri $uri.html $uri/index.html @backend;
    }}

    # Whatever the backend does not know either is a page nobody has: see @missing.
    location @backend {{
        proxy_pass http://rxpanel_{var};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
{headers}
        proxy_intercept_errors on;
        recursive_error_pages on;
        error_page 404 = @missing;
    }}

    # A browser navigating to a client-side route gets the SPA fallback (200):
    # React Router's __spa-fallback.html (Reflex 0.8+), or Next.js's 404.html
    # (0.7), whose client-side routing renders dynamic routes;
    # other clients get the app's 404 page with status 404. Both end here, in
    # files only: never back to the backend, so no loop and no made-up status.
    location @missing {{
        if ($rxpanel_{var}_html) {{
            rewrite ^ /__rxpanel_spa last;
        }}
        rewrite ^ /__rxpanel_404 last;
    }}

    location = /__rxpanel_spa {{
        internal;
{live_tag}
        try_files /__spa-fallback.html /404.html /index.html =404;
    }}

    location = /__rxpanel_404 {{
        internal;
        error_page 404 /404.html;
        return 404;
    }}

    location = /404.html {{
        try_files /404.html =404;
    }}
}}
"""

REDIRECT = """
server {{
    listen {listen_http};
    server_name {server_name};
    return 301 https://$host{port}$request_uri;
}}
"""


SECURITY_HEADERS = (
    'X-Content-Type-Options "nosniff"',
    'Referrer-Policy "strict-origin-when-cross-origin"',
    "Content-Security-Policy \"frame-ancestors 'self'\"",
)
HSTS = 'Strict-Transport-Security "max-age=31536000"'  # https sites only


def security_headers(https: bool, indent: int) -> str:
    """The add_header lines every response of the site gets."""
    names = (*SECURITY_HEADERS, HSTS) if https else SECURITY_HEADERS
    return "\n".join(f"{' ' * indent}add_header {h} always;" for h in names)


def listen_lines(url: str) -> tuple[list[str], str]:
    """nginx `listen` lines for the URL, and the plain-HTTP listen for a redirect."""
    parts = urlsplit(url)
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    host = parts.hostname or ""
    try:
        ip = ipaddress.ip_address(host)
        address = f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"
        http_address = f"[{ip}]:80" if ip.version == 6 else f"{ip}:80"
    except ValueError:
        address, http_address = str(port), "80"
    suffix = " ssl" if https else ""
    return [f"    listen {address}{suffix};"], http_address


def server_name(url: str) -> str:
    """The site's `server_name`: the URL's host."""
    return urlsplit(url).hostname or "_"


def live_tag_lines(release: str, mode: str) -> str:
    """sub_filter of the pages nginx serves from files: the new-release script goes
    in before </head>. Precompressed .gz pages cannot be filtered: these are
    compressed on the way out instead, after the filter (small pages)."""
    tag = live.tag(release, mode)
    return (
        "        gzip_static off;\n"
        "        gzip on;\n"
        f"        sub_filter '</head>' '{tag}</head>';\n"
        "        sub_filter_once on;"
    )


def render_site(
    *,
    app: str,
    url: str,
    release: str,
    release_dir: str,
    color: str,
    port: int,
    previous_dir: str | None = None,
    on_new_release: str = "reload",
) -> str:
    parts = urlsplit(url)
    host = server_name(url)
    listens, http_address = listen_lines(url)
    if parts.scheme == "https":
        listens += [
            f"    ssl_certificate /etc/letsencrypt/live/{host}/fullchain.pem;",
            f"    ssl_certificate_key /etc/letsencrypt/live/{host}/privkey.pem;",
        ]
        to_port = f":{parts.port}" if parts.port not in (None, 443) else ""
        redirect = REDIRECT.format(listen_http=http_address, server_name=host, port=to_port)
    else:
        redirect = ""
    return SITE.format(
        app=app,
        var=app.replace("-", "_"),
        release=release,
        color=color,
        port=int(port),
        redirect=redirect,
        listen="\n".join(listens),
        server_name=host,
        root=f"{release_dir}/frontend",
        headers=PROXY_HEADERS,
        security=security_headers(parts.scheme == "https", 4),
        assets_security=security_headers(parts.scheme == "https", 8),
        previous_assets="@previous_assets" if previous_dir else "=404",
        previous_location=(
            "\n    location @previous_assets {{\n"
            f"        root {previous_dir}/frontend;\n"
            "        expires max;\n"
            '        add_header Cache-Control "public, immutable";\n'
            f"{security_headers(parts.scheme == 'https', 8)}\n"
            "        try_files $uri =404;\n"
            "    }}\n"
        )
        .replace("{{", "{")
        .replace("}}", "}")
        if previous_dir
        else "",
        live_js=live.SCRIPT,
        live_tag=live_tag_lines(release, on_new_release),
        new_release_mode=on_new_release,  # the live site's choice, for tabs of any release
    )
