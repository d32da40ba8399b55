"""CDS Hooks 2.0 client authentication ("Trusting CDS Clients"): the signed JWT on every service call.

A CDS client sends `Authorization: Bearer <JWT>`, signed with its private key. This service accepts
it only when, as the specification requires and a hospital's security review expects:

- `alg` is an asymmetric algorithm (`ALGORITHMS`: the specification's ES384 / RS384, also RS256,
  ES256, RS512, ES512, PS*, EdDSA): never `none`, never a shared-secret HS* (a token "signed" with
  the issuer's public key as an HMAC secret is refused before any key is touched);
- `iss` is on the allow-list (`api.cds.jwks`), and the signature verifies with one of that issuer's
  keys (by `kid`; a `jku` header must be one of the issuer's listed JWKS URLs);
- `aud` is this service's own URL, built from the configured public base URL (never the Host header);
- `exp`, `iat` and `jti` are present; `iat` is not in the future and `exp` not past, both within
  `clock_skew_s`; a token may live at most `max_lifetime_s` (`exp - iat`);
- its (`iss`, `jti`) has not been seen before: a bounded in-memory `ReplayCache` remembers each
  until its `exp`. With several worker processes each has its own cache, so a replay sent to another
  worker within the token's short lifetime is not detected (run one worker per host where that matters).

Failures raise `CdsAuthError` (401, `WWW-Authenticate: Bearer ... error="invalid_token"`), or 503
when the issuer's keys cannot be fetched or the replay cache is full. Neither the token nor any claim
value is logged; the reason is.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from dataclasses import dataclass

import jwt
from jwt.types import Options
from starlette.concurrency import run_in_threadpool

from api.cds.jwks import Issuer, SigningKey, is_loopback, load_issuers
from api.settings import Settings
from kg.errors import AuthenticationError, ConfigError, KeysUnavailableError, OverloadedError

log = logging.getLogger("therapy-kg.cds.auth")

ALGORITHMS = ("ES384", "RS384", "ES256", "RS256", "ES512", "RS512", "PS256", "PS384", "PS512", "EdDSA")
REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat", "jti")
REALM = "therapy-kg CDS Hooks"
MAX_TOKEN_BYTES = 16 * 1024
MAX_JTI_CHARS = 256
MAX_KEYS_TRIED = 8


class CdsAuthError(AuthenticationError):
    """The call is refused (401): `error` is the RFC 6750 error code, None when no credentials came at all."""

    def __init__(self, description: str, error: str | None = "invalid_token") -> None:
        super().__init__(description, field="Authorization")
        self.description = description
        self.error = error

    def challenge(self) -> str:
        """The WWW-Authenticate value of the 401."""
        challenge = f'Bearer realm="{REALM}"'
        if self.error:  # RFC 6750 §3.1: no error code when the request carried no credentials at all
            challenge += f', error="{self.error}", error_description="{self.description}"'
        return challenge


@dataclass(frozen=True)
class VerifiedClient:
    """Who called: the token's issuer and subject (never the token itself)."""

    iss: str
    sub: str | None


class ReplayCache:
    """(iss, jti) pairs seen, each kept until its token expires; at most `capacity` at once.

    Only tokens whose signature verified are entered, so only trusted issuers can fill it. When it is
    full of unexpired entries a new token is refused (503), never admitted by forgetting an old one.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._until: dict[tuple[str, str], float] = {}
        self._expiry: list[tuple[float, tuple[str, str]]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._until)

    def admit(self, iss: str, jti: str, until: float, now: float) -> None:
        key = (iss, jti)
        with self._lock:
            while self._expiry and self._expiry[0][0] <= now:
                _, old = heapq.heappop(self._expiry)
                if self._until.get(old, now + 1) <= now:
                    del self._until[old]
            if key in self._until:
                raise CdsAuthError("the token's jti was already used (replay)")
            if len(self._until) >= self.capacity:
                wait = max(1, int(self._expiry[0][0] - now) + 1)
                raise OverloadedError("too many recent tokens to check for replay; retry later", retry_after=wait)
            self._until[key] = until
            heapq.heappush(self._expiry, (until, key))


class TokenVerifier:
    """Checks the bearer token of one CDS call against the issuer allow-list."""

    def __init__(
        self,
        issuers: dict[str, Issuer],
        clock_skew_s: float = 60.0,
        max_lifetime_s: float = 300.0,
        replay_capacity: int = 100_000,
    ) -> None:
        self.issuers = issuers
        self.clock_skew_s = clock_skew_s
        self.max_lifetime_s = max_lifetime_s
        self.replay = ReplayCache(replay_capacity)

    async def verify(self, authorization: str | None, audiences: list[str]) -> VerifiedClient:
        """The caller, or `CdsAuthError`; `audiences` are the URLs this call's `aud` may name."""
        try:
            return await self._verify(authorization, audiences)
        except (CdsAuthError, OverloadedError, KeysUnavailableError) as exc:
            log.info("CDS call refused (%s): %s", exc.code, exc)
            raise

    async def _verify(self, authorization: str | None, audiences: list[str]) -> VerifiedClient:
        token = bearer_token(authorization)
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise CdsAuthError("the bearer token is not a well-formed JWT") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise CdsAuthError(f"the token's alg is not an accepted asymmetric algorithm ({', '.join(ALGORITHMS)})")
        iss = unverified.get("iss")
        issuer = self.issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None or not isinstance(iss, str):
            raise CdsAuthError("the token's issuer (iss) is not a trusted CDS client")
        jku = header.get("jku")
        source = issuer.source(jku) if jku is None or isinstance(jku, str) else None
        if source is None:
            raise CdsAuthError("the token's jku is not a JWKS URL listed for its issuer")
        kid = header.get("kid") if isinstance(header.get("kid"), str) else None
        keys = source.cached(kid, time.monotonic())
        if keys is None:
            keys = await run_in_threadpool(source.fetch, kid)  # KeysUnavailableError: 503, Retry-After
        claims = self._check_signature(token, alg, keys, iss, audiences)
        return self._check_claims(claims, issuer)

    def _check_signature(self, token: str, alg: str, keys: list[SigningKey], iss: str, audiences: list[str]) -> dict:
        candidates = [k for k in keys if k.fits(alg)][:MAX_KEYS_TRIED]
        if not candidates:
            raise CdsAuthError("no key of the issuer matches the token's kid and alg")
        options: Options = {"require": list(REQUIRED_CLAIMS), "verify_iat": True}
        for key in candidates:
            try:
                return jwt.decode(
                    token,
                    key=key.key,
                    algorithms=[alg],
                    audience=audiences,
                    issuer=iss,
                    leeway=self.clock_skew_s,
                    options=options,
                )
            except jwt.InvalidSignatureError:
                continue
            except jwt.ExpiredSignatureError:
                raise CdsAuthError("the token has expired (exp)") from None
            except jwt.ImmatureSignatureError:
                raise CdsAuthError("the token is not valid yet (iat or nbf in the future)") from None
            except jwt.InvalidAudienceError:
                raise CdsAuthError("the token's audience (aud) is not this CDS service's URL") from None
            except jwt.MissingRequiredClaimError as exc:
                raise CdsAuthError(f"the token lacks the required claim {exc.claim}") from None
            except jwt.PyJWTError:
                raise CdsAuthError("the token's claims are malformed") from None
        raise CdsAuthError("the token's signature does not verify with the issuer's keys")

    def _check_claims(self, claims: dict, issuer: Issuer) -> VerifiedClient:
        jti, exp, iat, sub = claims.get("jti"), claims["exp"], claims["iat"], claims.get("sub")
        if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_CHARS:
            raise CdsAuthError(f"the token's jti must be a string of 1 to {MAX_JTI_CHARS} characters")
        if not isinstance(exp, int | float) or not isinstance(iat, int | float) or isinstance(exp, bool):
            raise CdsAuthError("the token's exp and iat must be numbers")
        if exp - iat > self.max_lifetime_s:
            raise CdsAuthError(f"the token lives longer than {int(self.max_lifetime_s)} s (exp - iat)")
        if issuer.subjects is not None and sub not in issuer.subjects:
            raise CdsAuthError("the token's subject (sub) is not listed for its issuer")
        now = time.time()
        self.replay.admit(issuer.iss, jti, until=float(exp) + self.clock_skew_s, now=now)
        return VerifiedClient(issuer.iss, sub if isinstance(sub, str) else None)


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise CdsAuthError("an Authorization: Bearer <JWT> header is required", error=None)
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise CdsAuthError("the Authorization header must be: Bearer <JWT>")
    if len(token) > MAX_TOKEN_BYTES:
        raise CdsAuthError(f"the bearer token is longer than {MAX_TOKEN_BYTES} bytes")
    return token


def verifier_for(settings: Settings) -> TokenVerifier | None:
    """The start-up decision: a verifier when issuers are configured; None (auth off) only on a loopback
    address or with the explicit `cds_allow_unauthenticated`; otherwise `ConfigError`: the server refuses to start."""
    if settings.cds_issuers is not None:
        issuers = load_issuers(settings.cds_issuers)
        log.info("CDS Hooks client authentication is on: %d trusted issuer(s)", len(issuers))
        return TokenVerifier(
            issuers, settings.cds_clock_skew_s, settings.cds_max_token_lifetime_s, settings.cds_replay_cache_size
        )
    if settings.cds_allow_unauthenticated:
        log.warning(
            "!!! CDS Hooks client authentication is OFF (--cds-allow-unauthenticated): anyone who can reach "
            "%s may call the CDS services and post feedback. Configure --cds-issuers for production. !!!",
            settings.listen_host,
        )
        return None
    if is_loopback(settings.listen_host):
        log.warning(
            "CDS Hooks client authentication is off: listening on loopback (%s) with no trusted issuers "
            "configured (--cds-issuers)",
            settings.listen_host,
        )
        return None
    raise ConfigError(
        f"refusing to serve CDS Hooks on {settings.listen_host} without client authentication: give "
        "--cds-issuers FILE (the trusted CDS clients and their JWKS), or --cds-allow-unauthenticated "
        "to run without it"
    )
