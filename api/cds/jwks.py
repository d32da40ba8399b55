"""The CDS clients this service trusts: an allow-list of issuers, each with the JWK Set its tokens are signed with.

The allow-list is a JSON file mapping each trusted `iss` to where its public keys are:

    {"https://ehr.example.org": "ehr-jwks.json",
     "https://other.example.org": {"jwks": "https://other.example.org/.well-known/jwks.json",
                                   "jku": ["https://other.example.org/keys/2"], "sub": ["client-1"]}}

A value is a JWKS file (relative to the allow-list file) or an `https://` URL (plain `http://` only on a
loopback host, for tests); the object form adds the `jku` URLs the issuer may name in a token header
and the `sub` values it may use. These URLs are the only outbound connections CDS Hooks ever makes:
a `jku` that is not on the list is refused, never fetched. Fetches do not follow redirects, ignore
proxy variables, are bounded in time and size, cached, and refetched for an unknown `kid` at most
once per `REFETCH_INTERVAL_S`. Symmetric (`oct`) keys in a JWK Set are ignored: CDS Hooks 2.0 forbids
shared-secret algorithms.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from kg.errors import ConfigError, KeysUnavailableError

FETCH_TIMEOUT_S = 5.0
MAX_JWKS_BYTES = 64 * 1024
#: The public keys a JWK Set may give for signatures (RSA, EC, OKP).
PublicKey = RSAPublicKey | EllipticCurvePublicKey | Ed25519PublicKey | Ed448PublicKey
CACHE_TTL_S = 600.0
REFETCH_INTERVAL_S = 30.0


class JwksError(ValueError):
    """A JWK Set that is not one, or holds no usable key."""


def is_loopback(host: str) -> bool:
    """`localhost` or a loopback IP address (brackets of an IPv6 literal allowed)."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}


@dataclass(frozen=True)
class SigningKey:
    """A public key of a JWK Set with what decides which algorithms it may verify."""

    key: PublicKey
    kty: str
    crv: str | None
    alg: str | None

    def fits(self, alg: str) -> bool:
        """Its type matches the algorithm family, its curve the EC algorithm, its own `alg` (if any) the token's."""
        if self.alg not in (None, alg) or self.kty != _KEY_TYPES.get(alg[:2]):
            return False
        return alg not in _CURVES or self.crv == _CURVES[alg]


def _usable_keys(data: object, origin: str) -> dict[str | None, list[SigningKey]]:
    """Asymmetric signing keys of a JWK Set by `kid` (None for keys without one)."""
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise JwksError(f"{origin}: not a JWK Set (an object with a 'keys' array)")
    keys: dict[str | None, list[SigningKey]] = {}
    for entry in data["keys"]:
        if not isinstance(entry, dict) or entry.get("kty") not in ("RSA", "EC", "OKP"):
            continue  # symmetric or unknown key types are never used
        if entry.get("use", "sig") != "sig" or "d" in entry:
            continue  # encryption keys, and private keys published by mistake
        try:
            key = jwt.PyJWK(entry).key
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            continue
        signing = SigningKey(key, entry["kty"], entry.get("crv"), entry.get("alg"))
        keys.setdefault(entry.get("kid") if isinstance(entry.get("kid"), str) else None, []).append(signing)
    if not keys:
        raise JwksError(f"{origin}: the JWK Set holds no usable RSA, EC or OKP signing key")
    return keys


def check_jwks_url(url: str, where: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return url
    raise ConfigError(f"{where}: a JWKS URL must be https:// (http:// only on a loopback host), got {url[:200]!r}")


@dataclass
class JwksSource:
    """One place keys come from: a file read at start-up, or a URL fetched on demand and cached."""

    location: str
    keys: dict[str | None, list[SigningKey]] = field(default_factory=dict)
    fetched_at: float | None = None  # None: a file, never refetched
    last_attempt: float = float("-inf")
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def remote(self) -> bool:
        return self.location.startswith(("https://", "http://"))

    def cached(self, kid: str | None, now: float) -> list[SigningKey] | None:
        """Keys for `kid` when no fetch is due; None when the URL must be fetched first (off the event loop)."""
        if not self.remote:
            return self._select(kid)
        fresh = self.fetched_at is not None and now - self.fetched_at < CACHE_TTL_S
        keys = self._select(kid)
        if fresh and (keys or now - self.last_attempt < REFETCH_INTERVAL_S):
            return keys
        return None

    def fetch(self, kid: str | None) -> list[SigningKey]:
        """Fetch the URL (blocking), at most once per refetch interval; keys stay usable for the cache TTL."""
        with self.lock:
            now = time.monotonic()
            if now - self.last_attempt >= REFETCH_INTERVAL_S:
                self.last_attempt = now
                try:
                    self.keys = _usable_keys(_download(self.location), self.location)
                    self.fetched_at = now
                except (httpx.HTTPError, ValueError):
                    pass  # the keys fetched before stay usable until their TTL ends
            if self.fetched_at is None or now - self.fetched_at >= CACHE_TTL_S:
                raise KeysUnavailableError(
                    "the issuer's JWK Set could not be fetched", retry_after=int(REFETCH_INTERVAL_S)
                )
            return self._select(kid)

    def _select(self, kid: str | None) -> list[SigningKey]:
        if kid is not None:
            return list(self.keys.get(kid, []))
        return [key for group in self.keys.values() for key in group]


def _download(url: str) -> object:
    with (
        httpx.Client(follow_redirects=False, trust_env=False, timeout=FETCH_TIMEOUT_S) as client,
        client.stream("GET", url, headers={"Accept": "application/json"}) as response,
    ):
        if response.status_code != 200:
            raise JwksError(f"HTTP {response.status_code}")
        body = b""
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > MAX_JWKS_BYTES:
                raise JwksError(f"larger than {MAX_JWKS_BYTES} bytes")
    return json.loads(body)


@dataclass
class Issuer:
    """A trusted CDS client: its `iss`, its key source, the other `jku` URLs and the `sub` values it may use."""

    iss: str
    jwks: JwksSource
    jku: dict[str, JwksSource]
    subjects: frozenset[str] | None = None

    def source(self, jku: str | None) -> JwksSource | None:
        """Where to take keys from for a token; None when its `jku` is not on this issuer's list."""
        if jku is None:
            return self.jwks
        if jku == self.jwks.location:
            return self.jwks
        return self.jku.get(jku)


def load_issuers(path: Path) -> dict[str, Issuer]:
    """Read the allow-list and every JWKS file it names; URLs are checked, fetched only when a token needs them."""
    try:
        config = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the CDS issuer allow-list ({type(exc).__name__})") from None
    if not isinstance(config, dict) or not config:
        raise ConfigError(f"{path}: expected an object mapping each trusted issuer (iss) to its JWKS")
    issuers: dict[str, Issuer] = {}
    for iss, value in config.items():
        where = f"{path}: issuer {iss[:200]!r}"
        entry = {"jwks": value} if isinstance(value, str) else value
        if not isinstance(entry, dict) or not isinstance(entry.get("jwks"), str):
            raise ConfigError(f"{where}: expected a JWKS path or URL, or an object with 'jwks'")
        jku = entry.get("jku", [])
        subjects = entry.get("sub")
        if not isinstance(jku, list) or not all(isinstance(u, str) for u in jku):
            raise ConfigError(f"{where}: 'jku' must be a list of URLs")
        if subjects is not None and (not isinstance(subjects, list) or not all(isinstance(s, str) for s in subjects)):
            raise ConfigError(f"{where}: 'sub' must be a list of strings")
        issuers[iss] = Issuer(
            iss=iss,
            jwks=_source(entry["jwks"], Path(path).parent, where),
            jku={url: JwksSource(check_jwks_url(url, where)) for url in jku},
            subjects=frozenset(subjects) if subjects is not None else None,
        )
    return issuers


def _source(location: str, base: Path, where: str) -> JwksSource:
    if location.startswith(("https://", "http://")):
        return JwksSource(check_jwks_url(location, where))
    file = Path(location) if Path(location).is_absolute() else base / location
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        return JwksSource(str(file), keys=_usable_keys(data, str(file)))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        detail = str(exc) if isinstance(exc, JwksError) else type(exc).__name__
        raise ConfigError(f"{where}: cannot use the JWKS file {str(file)!r}: {detail}") from None
