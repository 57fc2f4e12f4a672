"""Installing an nginx site: test first, keep the old one on failure, reload gracefully."""

from __future__ import annotations

from rxpanel.deploy.commands.base import AppLayout, q


def install_site(app: AppLayout, conf_tmp: str) -> str:
    site, prev, out = q(app.site_conf), q(f"{app.dir}/site.prev"), q(f"{app.tmp}/nginx-t.log")
    ngx = app.host.nginx
    return (
        f"rm -f {prev}; {{ [ ! -f {site} ] || cp -p {site} {prev}; }} && "
        + app.host.priv(f"install -m 0644 {q(conf_tmp)} {site}")
        + f" && rm -f {q(conf_tmp)} && "
        f"if {ngx('-t')} 2>{out}; then "
        f"rm -f {out}; {ngx('-s', 'reload')}; "
        f"else cat {out} >&2; rm -f {out}; "
        f"if [ -f {prev} ]; then {app.host.priv(f'install -m 0644 {prev} {site}')}; "
        f"else {app.host.priv(f'rm -f {site}')}; fi; "
        f"echo 'nginx -t failed: the previous site config was kept' >&2; exit 1; fi"
    )


def remove_site(app: AppLayout) -> str:
    return app.host.priv(f"rm -f {q(app.site_conf)}") + f" && {app.host.nginx('-s', 'reload')}"
