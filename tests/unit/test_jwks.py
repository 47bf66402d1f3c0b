"""The JWK set case_supervision and notify verify tokens with: fetched from
intake, cached, refetched once for an unknown kid (rate-limited), and no
private key anywhere but intake."""
import pytest
import yaml
from nameko.containers import ServiceContainer

from services.case_supervision.service import CaseSupervisionService
from services.intake.service import IntakeService
from services.intake.signing_keys import SigningKeys
from services.notify.service import NotifyService
from shared import auth
from shared.errors import Unauthorized, Unavailable
from shared.jwks import JwksCache, JwksKeys, fetch_jwks, parse_jwks
from shared.policy import ROOT
from support.jwks_server import JwksServer

OLD, NEW = auth.SigningKey.generate(), auth.SigningKey.generate()


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


class Intake:
    """A fake fetch: the keys intake publishes now; counts the fetches."""

    def __init__(self, *keys):
        self.keys, self.calls, self.down = list(keys), 0, False

    def __call__(self):
        self.calls += 1
        if self.down:
            raise ConnectionError("intake does not answer")
        return parse_jwks({"keys": [k.jwk() for k in self.keys]})


def cache(intake, **kw):
    clock = Clock()
    return JwksCache(intake, min_refresh=kw.get("min_refresh", 1), max_age=kw.get("max_age", 300),
                     clock=clock), clock


def test_the_set_is_fetched_once_and_cached():
    intake = Intake(OLD)
    keys, clock = cache(intake)
    for _ in range(50):
        assert keys.public_key(OLD.kid).public_bytes_raw() == OLD.public_key.public_bytes_raw()
    assert intake.calls == 1


def test_a_new_kid_after_rotation_triggers_one_refetch():
    intake = Intake(OLD)
    keys, clock = cache(intake)
    keys.public_key(OLD.kid)
    intake.keys.append(NEW)         # intake rotated
    clock.t += 5
    assert keys.public_key(NEW.kid) is not None and intake.calls == 2
    assert keys.public_key(OLD.kid) is not None and intake.calls == 2


def test_a_flood_of_unknown_kids_fetches_a_burst_then_once_per_interval():
    intake = Intake(OLD)
    keys, clock = cache(intake, min_refresh=1)
    keys.public_key(OLD.kid)
    for i in range(1000):
        assert keys.public_key(f"made-up-{i}") is None
        clock.t += 0.01      # 10 s of flood
    assert intake.calls <= 3 + 10


def test_a_new_kid_right_after_a_fetch_still_finds_a_fetch_allowed():
    intake = Intake(OLD)
    keys, clock = cache(intake, min_refresh=1)
    keys.public_key(OLD.kid)
    clock.t += 0.1
    intake.keys.append(NEW)
    assert keys.public_key(NEW.kid) is not None


def test_an_unknown_kid_is_refused_after_the_refetch():
    intake = Intake(OLD)
    keys, clock = cache(intake)
    token = auth.issue_token(NEW, "company", "c1")
    with pytest.raises(Unauthorized):
        auth.authenticate(f"Bearer {token}", None, keys)
    assert intake.calls == 1


def test_a_key_intake_no_longer_publishes_stops_verifying_after_max_age():
    intake = Intake(OLD, NEW)
    keys, clock = cache(intake, max_age=300)
    assert keys.public_key(OLD.kid) is not None
    intake.keys = [NEW]
    clock.t += 301
    assert keys.public_key(OLD.kid) is None


def test_intake_down_the_cached_keys_go_on_verifying():
    intake = Intake(OLD)
    keys, clock = cache(intake, max_age=300)
    keys.public_key(OLD.kid)
    intake.down = True
    clock.t += 400
    assert keys.public_key(OLD.kid) is not None


def test_intake_down_before_any_fetch_is_a_503_not_a_401():
    intake = Intake(OLD)
    intake.down = True
    keys, clock = cache(intake)
    token = auth.issue_token(OLD, "company", "c1")
    with pytest.raises(Unavailable):
        auth.authenticate(f"Bearer {token}", None, keys)
    for _ in range(10):     # a few tries, then none until the bucket refills
        with pytest.raises(Unavailable):
            keys.public_key(OLD.kid)
    assert intake.calls == 3
    intake.down = False
    clock.t += 1
    assert auth.authenticate(f"Bearer {token}", None, keys).subject == "c1"


def test_keys_of_other_types_in_the_set_are_skipped():
    jwks = {"keys": [OLD.jwk(), {"kty": "RSA", "kid": "r", "n": "x", "e": "AQAB"},
                     dict(NEW.jwk(), use="enc"), "nonsense"]}
    assert list(parse_jwks(jwks)) == [OLD.kid]
    for bad in (None, [], {"keys": "x"}):
        with pytest.raises(ValueError):
            parse_jwks(bad)


def test_the_set_is_fetched_over_http():
    server = JwksServer([OLD, NEW])
    try:
        assert set(fetch_jwks(server.url)) == {OLD.kid, NEW.kid}
    finally:
        server.close()


def _dependencies(service_cls):
    return ServiceContainer(service_cls, {"AMQP_URI": "memory://"}).dependencies


@pytest.mark.parametrize("service_cls", [CaseSupervisionService, NotifyService])
def test_the_verifying_services_hold_no_private_key_and_cannot_mint(service_cls):
    deps = _dependencies(service_cls)
    assert any(isinstance(d, JwksKeys) for d in deps)
    assert not any(isinstance(d, SigningKeys) for d in deps)
    # Their keys answer public keys only: nothing here can sign.
    assert not hasattr(JwksKeys, "signing_key") and not hasattr(JwksCache, "signing_key")


def test_only_intake_signs():
    deps = _dependencies(IntakeService)
    assert any(isinstance(d, SigningKeys) for d in deps)
    assert not any(isinstance(d, JwksKeys) for d in deps)


def test_no_service_is_configured_with_a_signing_secret():
    with open(f"{ROOT}/config.yml") as f:
        config = yaml.safe_load(f)
    assert not any("SIGNING_KEY" in k or "PRIVATE_KEY" in k for k in config)
    with open(f"{ROOT}/docker-compose.yml") as f:
        compose = f.read()
    assert "SIGNING_KEY" not in compose and "PRIVATE_KEY" not in compose
