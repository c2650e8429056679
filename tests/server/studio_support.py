"""What the studio's tests share: a copy of `policies/` served with the studio mounted, and the edits they make."""

import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from pdp.server import Settings, create_app

POLICIES = Path(__file__).resolve().parents[2] / "policies"
TOKEN = "studio-test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

# A promotional email to a customer who was never asked: allowed by marketing.promotional_email (§2.5).
EMAIL = {"action": "use", "purpose": "marketing.communications.email", "data_categories": ["user.contact.email"],
         "data_subject": {"id": "u-1", "type": "customer", "age": 30, "country": "IN"}}
# The edit that takes the email address out of that rule: the same request is then denied (no allow applies).
ALLOWS_EMAIL = "  of user.contact.email, user.name, user.demographic.profile, user.behavior\n"
WITHOUT_EMAIL = "  of user.name, user.demographic.profile, user.behavior\n"


def copy_policies(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    return target


def studio_client(directory: Path, **settings) -> TestClient:
    """A TestClient of the service serving `directory` with the studio (no watcher: reloads come from saves)."""
    values = {"policy_dir": directory, "studio_token": TOKEN, "reload": False, "log_path": None, **settings}
    return TestClient(create_app(Settings(**values)))


def marketing_without_email(directory: Path) -> str:
    text = (directory / "marketing.pdp").read_text(encoding="utf-8")
    assert ALLOWS_EMAIL in text
    return text.replace(ALLOWS_EMAIL, WITHOUT_EMAIL, 1)


def marketing_with_typo(directory: Path) -> tuple[str, int]:
    """marketing.pdp with `to usee` in its first rule, and the line of the typo."""
    text = (directory / "marketing.pdp").read_text(encoding="utf-8")
    lines = text.split("\n")
    line = lines.index("  to use") + 1
    lines[line - 1] = "  to usee"
    return "\n".join(lines), line
