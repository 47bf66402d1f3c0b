"""Policy files (data, not code) under policy/, overridable by path in config."""
import os

import yaml
from nameko.extensions import DependencyProvider

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_policy(config, name):
    path = config.get(f"{name.upper()}_POLICY") or os.path.join(ROOT, "policy", f"{name}.yml")
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


class Policy(DependencyProvider):
    """Hands workers the policy loaded once at start."""

    def __init__(self, name):
        self.name = name

    def setup(self):
        self.policy = load_policy(self.container.config, self.name)

    def get_dependency(self, worker_ctx):
        return self.policy
