"""stackctl init: a commented stack.yaml and generated secrets. The implementations (init_cmd
registers the arguments)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from stackctl.config.secrets import (
    existing_secret_files,
    site_secret_files,
    write_missing_secrets,
    write_missing_site_secrets,
)
from stackctl.config.settings import HAPROXY_LTS_IMAGE
from stackctl.config.spec import load_spec, read_spec_text, spec_from_data
from stackctl.core.clock import utcnow
from stackctl.core.errors import ExitStatus, InvalidInput, SpecError
from stackctl.core.fsio import atomic_write
from stackctl.core.yamlload import parse_yaml
from stackctl.flows.subnets import subnet_for_new_stack

if TYPE_CHECKING:
    from stackctl.commands.context import Context
    from stackctl.config.spec import StackSpec

STACK_TEMPLATE = """\
# stackctl stack: sites behind one HAProxy with TLS. Every key but the sites' domains is optional;
# the values below are the defaults. After a change run `stackctl render` (or `stackctl up`).
# Add a site with `stackctl sites add DOMAIN ...`, remove one with `stackctl sites rm DOMAIN`.

name: photoprism                 # compose project name: containers are <name>-<service>-1

ports:
  http: 80                       # redirects to https (ACME challenges excepted)
  https: 443
  bind: 0.0.0.0                  # host address the http/https ports are published on; [0.0.0.0, "::"] adds IPv6
  stats: 8404                    # HAProxy stats and /metrics, published on 127.0.0.1 only

tls:                             # every site's, unless the site has a tls: of its own
  source: local-ca               # local-ca | import | acme
  key_type: ecdsa-p256           # ecdsa-p256 | ecdsa-p384 | rsa-2048 | rsa-4096
  acme:
    email: null                  # required for acme: expiry notices go here
    directory: letsencrypt-staging   # letsencrypt | letsencrypt-staging | https://... (another ACME CA)
    ca_bundle: null              # CA file to trust when talking to a private ACME server
    agree_tos: false             # must be true for production letsencrypt

images:
  haproxy: "{haproxy}"
  photoprism: "photoprism/photoprism:latest"
  mariadb: "mariadb:11"

pull: missing                    # always | missing | never
log: errors                      # errors: HAProxy logs what did not end well | full: every request

database:
  kind: mariadb                  # mariadb | sqlite; each PhotoPrism site gets a database of its own
  path: ./database               # MariaDB data folder; never deleted by stackctl

network:
  subnet: {subnet}          # pinned; PhotoPrism trusts proxies from it

# A nightly encrypted backup, once `stackctl schedule install` has run:
# backup:
#   to: /mnt/backups/photos      # the folder the archives go to (relative: inside this folder)
#   passphrase_file: /root/photos-backup.pass   # 0600; keep a copy elsewhere: nothing restores without it
#   keep: 14                     # the newest archives kept there

sites:
  - domain: {domain}  # the name people type; must resolve to this host
    aliases: []                  # more names served with the same certificate
    photoprism:                  # a PhotoPrism instance: container <name>-photoprism-{slug}-1
      originals: ./sites/{slug}/originals   # your photos; never deleted by stackctl
      storage: ./sites/{slug}/storage       # cache, sidecar files, thumbnails
      admin_user: admin          # the password is in secrets/sites/{slug}.env
      env: {{}}                    # extra PHOTOPRISM_* settings, e.g. PHOTOPRISM_READONLY: true
  # Another service, run by this stack or reached on the host:
  # - domain: media.example.com
  #   upstream:
  #     url: http://host.docker.internal:8096    # or: image: "jellyfin/jellyfin:10", port: 8096
  #     health: /health                          # or tcp (the default)
"""


def _domain_spec(domain: str) -> StackSpec:
    """Validates the domain first, so that a bad one never reaches disk."""
    try:
        return spec_from_data({"domain": domain})
    except SpecError as e:
        raise InvalidInput(f"--domain: {e.rule}", "give a DNS name such as photos.example.com") from None


def stack_yaml_text(domain: str, subnet: str | None = None) -> str:
    """The commented stack.yaml; `subnet` defaults to the one the stack's name hashes to."""
    spec = _domain_spec(domain)
    slug = spec.sites[0].slug
    return STACK_TEMPLATE.format(
        domain=spec.first_site.domain, haproxy=HAPROXY_LTS_IMAGE, subnet=subnet or spec.network.subnet, slug=slug
    )


def spec_of_text(text: str) -> StackSpec:
    return spec_from_data(parse_yaml(text, "stack.yaml"))


def run(ctx: Context, args: argparse.Namespace) -> ExitStatus:
    paths = ctx.paths
    if args.domain is not None:
        _domain_spec(args.domain)  # a bad --domain is named first, whatever else is wrong
    spec_exists = paths.spec.exists() or paths.spec.is_symlink()
    secrets_complete = all((paths.secrets / name).exists() for name in ("photoprism.env", "mariadb.env", "haproxy.env"))
    if spec_exists and secrets_complete and not args.force:
        secrets_complete = all((paths.root / name).exists() for name in site_secret_files(load_spec(ctx.paths.spec)))
    if spec_exists and secrets_complete and not args.force:
        raise InvalidInput(
            f"a stack already exists in {paths.root}",
            "use --force to write a new stack.yaml (its passwords are kept; change one with stackctl secrets rotate)",
        )
    write_spec = not spec_exists or (args.force and args.domain)
    if write_spec and not args.domain:
        raise InvalidInput(
            "--domain is required to create stack.yaml", "e.g. stackctl init --domain photos.example.com"
        )
    if args.domain and spec_exists and not args.force:
        raise InvalidInput(f"{paths.spec} exists", "use --force to overwrite it")
    text = None
    if write_spec:
        new = _domain_spec(args.domain)  # a subnet that no network of this engine uses: stacks never collide
        text = stack_yaml_text(args.domain, subnet_for_new_stack(ctx.edge.engine(new), new.name))
    # An existing stack.yaml must be valid before secrets are made for it.
    spec = load_spec(ctx.paths.spec) if text is None else spec_of_text(text)
    if text is not None:
        if spec_exists:  # --force: the stack.yaml it replaces is kept beside it, never lost
            kept_spec = paths.root / f"stack.yaml.before-init-{utcnow():%Y%m%dT%H%M%SZ}"
            atomic_write(kept_spec, read_spec_text(paths.spec))
            ctx.say(f"Kept the previous stack.yaml as {kept_spec.name}")
        atomic_write(paths.spec, text)
        ctx.say(f"Created {paths.spec} for https://{args.domain.lower()}/")
    kept = existing_secret_files(paths.root, spec)
    for path in [*write_missing_secrets(paths.secrets), *write_missing_site_secrets(paths.root, spec)]:
        ctx.say(f"Created {path} (0600)")
    if kept:
        # A database keeps the password it was created with: new passwords here would lock the stack out.
        shown = ", ".join(str(p.relative_to(paths.root)) for p in kept)
        ctx.say(f"Kept the existing passwords in {shown}; change one with: stackctl secrets rotate")
    ctx.say('Next: "stackctl render" to write compose/ and haproxy.cfg, or "stackctl up" to run the stack.')
    return ExitStatus.OK
