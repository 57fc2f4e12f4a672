"""Installing an nginx site: test first (a server name another site has is a failure too),
keep the old one on failure, reload gracefully."""

from __future__ import annotations

from rxpanel.deploy.commands.base import AppLayout, q

CONFLICT = "another site on this server already has server name"


def install_site(app: AppLayout, conf_tmp: str, server_name: str) -> str:
    """Put the new site in place, `nginx -t`, graceful reload. If the test fails,
    warns that another site has the same server name (nginx would ignore one of
    the two, only warning), or the reload fails, the previous site file comes
    back and the command exits 1."""
    site, prev, out = q(app.site_conf), q(f"{app.dir}/site.prev"), q(f"{app.tmp}/nginx.out")
    ngx, priv = app.host.nginx, app.host.priv
    restore = (
        f"if [ -f {prev} ]; then {priv(f'install -m 0644 {prev} {site}')}; "
        f"else {priv(f'rm -f {site}')}; fi"
    )
    conflict = q(f'conflicting server name "{server_name}" on')
    said = q(f"nginx -t: {CONFLICT} {server_name}: the previous site config was kept")
    return (
        f"{{ rm -f {prev}; [ ! -f {site} ] || cp -p {site} {prev}; }} && "
        f"{priv(f'install -m 0644 {q(conf_tmp)} {site}')} && rm -f {q(conf_tmp)} && "
        f"if ! {ngx('-t')} 2>{out}; then cat {out} >&2; {restore}; "
        f"echo 'nginx -t failed: the previous site config was kept' >&2; exit 1; fi && "
        f"if grep -qF -- {conflict} {out}; then cat {out} >&2; {restore}; "
        f"echo {said} >&2; exit 1; fi && "
        f"if ! {ngx('-s', 'reload')} 2>{out}; then cat {out} >&2; {restore}; "
        f"echo 'nginx reload failed: the previous site config was kept' >&2; exit 1; fi"
    )


def remove_site(app: AppLayout) -> str:
    return app.host.priv(f"rm -f {q(app.site_conf)}") + f" && {app.host.nginx('-s', 'reload')}"


def restore_site(app: AppLayout) -> str:
    """Put back the site that install_site replaced (a fleet's switch failed on
    another server); no previous site means the app had none."""
    site, prev = q(app.site_conf), q(f"{app.dir}/site.prev")
    priv = app.host.priv
    return (
        f"{{ if [ -f {prev} ]; then {priv(f'install -m 0644 {prev} {site}')}; "
        f"else {priv(f'rm -f {site}')}; fi; }} && "
        f"{app.host.nginx('-t')} 2>&1 && {app.host.nginx('-s', 'reload')}"
    )
