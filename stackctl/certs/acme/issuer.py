"""ACME issuance with certbot's `acme` library: HTTP-01 answered statelessly by HAProxy from the
account thumbprint, so no challenge files, no extra container and no reload per challenge."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any, Protocol, cast
from urllib.parse import urlparse

import requests
from acme import challenges, client, crypto_util, errors, messages
from cryptography import x509
from josepy.jwa import ES256

from stackctl import __version__
from stackctl.certs.acme.account import AccountFiles, load_or_create_key, save_account_uri, saved_account_uri
from stackctl.certs.acme.caa import Applicant, check_caa
from stackctl.certs.acme.dns.challenge import DnsChallenges
from stackctl.certs.acme.dns.lookup import make_resolver
from stackctl.certs.acme.profiles import check_offered
from stackctl.certs.issued import Issued
from stackctl.certs.keys import generate_key, key_pem
from stackctl.certs.store import CertStore
from stackctl.config.host_paths import stack_path
from stackctl.config.sites import Site
from stackctl.config.spec import StackSpec
from stackctl.core.errors import OperationFailed

ORDER_DEADLINE = dt.timedelta(seconds=120)
_HINTS = {
    "connection": "make sure {name} resolves to this host and port {http} (ports.http) is reachable from the CA",
    "dns": "make sure {name} has a public DNS record pointing to this host",
    "unauthorized": "the CA reached a server that did not answer the challenge: check DNS for {name} and port {http}",
    "incorrectResponse": "the CA reached a server that did not answer the challenge: check DNS for {name}",
    "rateLimited": "the CA rate-limits this account or name: wait, or try tls.acme.directory: letsencrypt-staging",
    "userActionRequired": "agree to the CA's terms: set tls.acme.agree_tos: true",
    "agreementRequired": "agree to the CA's terms: set tls.acme.agree_tos: true",
    "rejectedIdentifier": "the CA will not issue for {name}",
}


def _problem_type(error: messages.Error) -> str:
    return str(error.typ or "").rsplit(":", 1)[-1]


def _hint(error: messages.Error, name: str, spec: StackSpec) -> str:
    return _HINTS.get(_problem_type(error), "see the CA's message").format(name=name, http=spec.ports.http)


class AcmeClient(Protocol):
    """What stackctl asks of an ACME client: certbot's `ClientV2`, or a test's fake CA."""

    directory: messages.Directory

    def new_account(self, new_account: messages.NewRegistration) -> messages.RegistrationResource: ...

    def new_order(self, csr_pem: bytes, profile: str | None = None) -> messages.OrderResource: ...

    def answer_challenge(
        self, challb: messages.ChallengeBody, response: challenges.ChallengeResponse
    ) -> messages.ChallengeResource: ...

    def poll_and_finalize(
        self, orderr: messages.OrderResource, deadline: dt.datetime | None = None
    ) -> messages.OrderResource: ...

    def renewal_time(self, cert_pem: bytes) -> tuple[dt.datetime | None, dt.datetime]: ...


def connect_acme(url: str, net: client.ClientNetwork) -> AcmeClient:
    """The real ACME client: fetch the directory, then talk to it over `net`."""
    return client.ClientV2(client.ClientV2.get_directory(url, net), net=net)


# (directory URL, network with the account key) -> a client with ClientV2's methods. Tests pass a fake CA.
AcmeConnector = Callable[[str, client.ClientNetwork], AcmeClient]


class AcmeSession:
    """A connected, registered ACME client for one directory, modelled on ClientV2 taking its network:
    the client comes from `connect`, which tests replace with a fake CA."""

    def __init__(
        self,
        spec: StackSpec,
        site: Site,
        store: CertStore,
        directory_url: str | None = None,
        connect: AcmeConnector = connect_acme,
    ) -> None:
        self.spec, self.site = spec, site
        self.url = directory_url or site.tls.acme.directory_url
        self.files = AccountFiles(store.root)
        self.key = load_or_create_key(self.files)
        bundle = site.tls.acme.ca_bundle
        verify: Any = str(stack_path(store.root.parent, bundle)) if bundle else True
        self.net = client.ClientNetwork(
            self.key, alg=_alg(), user_agent=f"stackctl/{__version__}", verify_ssl=cast(bool, verify), timeout=30
        )
        try:
            self.acme = connect(self.url, self.net)
        except requests.exceptions.RequestException as e:
            raise OperationFailed(
                f"failed to reach the ACME server at {self.url}: {_short(e)}",
                "check tls.acme.directory, the network, and tls.acme.ca_bundle for a private CA",
            ) from e
        except messages.Error as e:
            raise OperationFailed(
                f"failed to read the ACME directory at {self.url}: {e.detail}",
                "check that tls.acme.directory is the directory URL of an ACME CA",
            ) from e
        self.registered_now = False

    def _register(self) -> None:
        """The account, registered on the first order (asking for renewal information needs none)."""
        uri = saved_account_uri(self.files, self.url)
        if uri is None:
            registration = messages.NewRegistration.from_data(
                email=self.site.tls.acme.email, terms_of_service_agreed=True
            )
            try:
                with self._translated(f"register an ACME account at {self.host}"):
                    regr = self.acme.new_account(registration)
                uri = regr.uri
                self.registered_now = True
            except errors.ConflictError as e:  # the key already has an account there
                uri = e.location
            save_account_uri(self.files, self.url, str(uri), self.site.tls.acme.email)
        self.net.account = messages.RegistrationResource(uri=uri, body=messages.Registration())

    @contextlib.contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        """The CA's problem documents and network errors, as one line with the CA's words and a hint."""
        try:
            yield
        except messages.Error as e:
            raise OperationFailed(
                f"failed to {action}: {e.detail or e.typ}", _hint(e, self.site.domain, self.spec)
            ) from e
        except requests.exceptions.RequestException as e:
            raise OperationFailed(f"failed to {action}: {_short(e)}", "check the network and try again") from e

    @property
    def host(self) -> str:
        return urlparse(self.url).netloc

    def _preflight(self) -> None:
        """What the CA would refuse, refused here first: a profile it does not offer, a name whose CAA
        records exclude it, this account or this challenge."""
        acme = self.site.tls.acme
        check_offered(self.acme.directory, acme.profile, self.host)
        meta = self.acme.directory.meta
        identities = tuple(i.lower() for i in (meta.caa_identities or ())) if meta is not None else ()
        if identities:
            who = Applicant(identities, saved_account_uri(self.files, self.url), acme.challenge)
            check_caa(make_resolver(acme.dns.resolver if acme.dns else None), self.site.names, who)

    def order(self) -> Issued:
        self._preflight()
        self._register()
        key = generate_key(self.site.tls.key_type)
        csr = crypto_util.make_csr(key_pem(key), list(self.site.names))
        try:
            with self._translated(f"obtain a certificate from {self.host}"):
                order = self.acme.new_order(csr, self.site.tls.acme.profile)
                pending = [a for a in order.authorizations if a.body.status != messages.STATUS_VALID]
                if self.site.tls.acme.challenge == "dns-01":
                    finished = self._over_dns01(order, pending)
                else:
                    for authz in pending:
                        self._answer_http01(authz)
                    finished = self.acme.poll_and_finalize(order, deadline=dt.datetime.now() + ORDER_DEADLINE)
        except errors.ValidationError as e:
            raise _validation_failure(e, self.spec, self.host) from e
        except errors.TimeoutError as e:
            raise OperationFailed(
                f"failed to obtain a certificate: {self.host} did not finish the order in time",
                "try again later; the CA may be overloaded",
            ) from e
        certs = x509.load_pem_x509_certificates(finished.fullchain_pem.encode())
        return Issued(leaf=certs[0], chain=list(certs[1:]), key_pem=key_pem(key))

    def _over_dns01(
        self, order: messages.OrderResource, pending: list[messages.AuthorizationResource]
    ) -> messages.OrderResource:
        """Publish every TXT record, wait until every authoritative server has them, answer, finalize;
        the records go again on the way out, also after a failure."""
        settings = self.site.tls.acme.dns
        assert settings is not None  # the spec requires tls.acme.dns with dns-01
        with DnsChallenges(settings, self.files.certs_root.parent / "secrets", self.files.folder) as dns:
            answers = []
            for authz in pending:
                challb = _offered(authz, challenges.DNS01, self.host)
                assert isinstance(challb.chall, challenges.DNS01)
                name = challb.chall.validation_domain_name(authz.body.identifier.value)
                dns.publish(name, challb.chall.validation(self.key))
                answers.append(challb)
            dns.wait_propagated()
            for challb in answers:
                self.acme.answer_challenge(challb, challb.response(self.key))
            return self.acme.poll_and_finalize(order, deadline=dt.datetime.now() + ORDER_DEADLINE)

    def _answer_http01(self, authz: messages.AuthorizationResource) -> None:
        http01 = _offered(authz, challenges.HTTP01, self.host)
        self.acme.answer_challenge(http01, http01.response(self.key))

    def renewal_time(self, leaf_pem: bytes) -> dt.datetime | None:
        """The CA's suggested renewal time (ACME Renewal Information), or None when it offers none."""
        try:
            suggested, _ = self.acme.renewal_time(leaf_pem)
        except errors.ARIError:
            return None
        if suggested is None:
            return None
        return suggested if suggested.tzinfo else suggested.replace(tzinfo=dt.timezone.utc)


def _offered(authz: messages.AuthorizationResource, kind: type[Any], host: str) -> messages.ChallengeBody:
    found = next((c for c in authz.body.challenges if isinstance(c.chall, kind)), None)
    if found is None:
        typ = str(kind.typ).upper()
        raise OperationFailed(
            f"the CA at {host} offers no {typ} challenge for {authz.body.identifier.value}",
            "set tls.acme.challenge to a challenge the CA offers, or import a certificate (stackctl certs import)",
        )
    return found


def _alg() -> Any:
    return ES256


def _short(error: Exception) -> str:
    text = str(error)
    for marker in ("Connection refused", "Name or service not known", "timed out", "CERTIFICATE_VERIFY_FAILED"):
        if marker in text:
            return marker.lower() if marker != "CERTIFICATE_VERIFY_FAILED" else "its TLS certificate is not trusted"
    return text.splitlines()[0][:200]


def _validation_failure(error: errors.ValidationError, spec: StackSpec, host: str) -> OperationFailed:
    for authzr in error.failed_authzrs:
        name = authzr.body.identifier.value
        for challenge in authzr.body.challenges:
            problem = challenge.error
            if problem is not None and isinstance(challenge.chall, challenges.DNS01):
                return OperationFailed(
                    f"the CA at {host} saw a different TXT value for _acme-challenge.{name}: {problem.detail}",
                    "look for a stale or second record there, or a CNAME pointing elsewhere, then try again",
                )
            if problem is not None:
                return OperationFailed(
                    f"the CA at {host} could not validate {name}: {problem.detail}", _hint(problem, name, spec)
                )
        return OperationFailed(
            f"the CA at {host} could not validate {name}",
            f"check that {name} resolves to this host and port 80 reaches it",
        )
    return OperationFailed(f"the CA at {host} refused the order", "check the names in stack.yaml and try again")


class AcmeIssuer:
    source = "acme"

    def __init__(self, directory_url: str | None = None, connect: AcmeConnector = connect_acme) -> None:
        self.directory_url = directory_url
        self.connect = connect

    def issue(self, spec: StackSpec, site: Site, store: CertStore, now: dt.datetime) -> Issued:
        return AcmeSession(spec, site, store, self.directory_url, self.connect).order()
