"""The login wiring, as rendered: where Hydra and Kratos send the browser (the UI's pages), how
the services reach each other (Kubernetes Service names, network aliases on Compose), and the
UI's own environment, with its two secrets kept out of every public file.

Host ports are moved off their defaults so that a browser URL (a host port) cannot pass for a
service-to-service URL (a container port behind a Service name), or the other way round.
"""

from __future__ import annotations

import yaml

from sandbox.config.settings import Settings
from sandbox.model.topology import Topology
from sandbox.render import compose, helm_values
from tests.support.secrets import RENDER_SECRETS as SECRETS
from tests.support.secrets import UI_COOKIE, UI_CSRF


def test_hydra_kratos_and_the_ui_name_each_other_on_every_target() -> None:
    ports = {"ui": 5455, "hydra_public": 5444, "kratos_public": 5433}
    topology = Topology(Settings.model_validate({"ports": ports}))
    project = compose.render_project(topology, SECRETS)

    # Hydra sends the browser to the UI's pages, and asks Kratos (admin API, by Service name)
    hydra = yaml.safe_load(project.public["ory/hydra.yaml"])
    assert hydra["urls"] == {
        "self": {"issuer": "http://127.0.0.1:5444/", "public": "http://127.0.0.1:5444/"},
        "login": "http://127.0.0.1:5455/login",
        "registration": "http://127.0.0.1:5455/registration",
        "consent": "http://127.0.0.1:5455/consent",
        "logout": "http://127.0.0.1:5455/logout",
        "error": "http://127.0.0.1:5455/error",
        "post_logout_redirect": "http://127.0.0.1:5455/login",
        "identity_provider": {
            "url": "http://kratos-admin:4434",
            "publicUrl": "http://127.0.0.1:5433",
        },
    }
    assert hydra["oauth2"] == {"pkce": {"enforced_for_public_clients": True}}
    assert hydra["serve"]["cookies"] == {"same_site_mode": "Lax"}

    # Kratos: every flow's page on the UI; it accepts Hydra's logins through Hydra's admin API
    kratos = yaml.safe_load(project.public["ory/kratos.yaml"])
    assert kratos["oauth2_provider"] == {"url": "http://hydra-admin:4445"}
    selfservice = kratos["selfservice"]
    assert selfservice["default_browser_return_url"] == "http://127.0.0.1:5455/"
    assert selfservice["allowed_return_urls"] == ["http://127.0.0.1:5455/"]
    assert selfservice["flows"] == {
        "login": {"ui_url": "http://127.0.0.1:5455/login"},
        "registration": {
            "ui_url": "http://127.0.0.1:5455/registration",
            "after": {"password": {"hooks": [{"hook": "session"}]}},
        },
        "settings": {"ui_url": "http://127.0.0.1:5455/settings"},
        "recovery": {"ui_url": "http://127.0.0.1:5455/recovery"},
        "verification": {"ui_url": "http://127.0.0.1:5455/verification"},
        "error": {"ui_url": "http://127.0.0.1:5455/error"},
        "logout": {"after": {"default_browser_return_url": "http://127.0.0.1:5455/login"}},
    }

    # Compose: the UI's environment carries URLs only; its secrets are in secrets/ui.env
    services = yaml.safe_load(project.public["compose.yaml"])["services"]
    ui = services["ui"]
    assert ui["environment"] == {
        "PORT": "3000",
        "KRATOS_PUBLIC_URL": "http://kratos-public:4433",
        "KRATOS_BROWSER_URL": "http://127.0.0.1:5433",
        "KRATOS_ADMIN_URL": "http://kratos-admin:4434",
        "HYDRA_ADMIN_URL": "http://hydra-admin:4445",
        "CSRF_COOKIE_NAME": "iam_sandbox_ui_csrf",
        "DANGEROUSLY_DISABLE_SECURE_CSRF_COOKIES": "true",
        "REMEMBER_CONSENT_SESSION_FOR_SECONDS": "3600",
    }
    assert ui["env_file"] == ["secrets/ui.env"]
    assert ui["ports"] == ["127.0.0.1:5455:3000"]
    assert ui["depends_on"] == {
        "hydra": {"condition": "service_started"},
        "kratos": {"condition": "service_started"},
    }
    assert "command" not in ui  # the image's own command
    assert "networks" not in ui  # its Service is named `ui`, like the Compose service
    assert project.secret["secrets/ui.env"] == (
        f"COOKIE_SECRET='{UI_COOKIE}'\nCSRF_COOKIE_SECRET='{UI_CSRF}'\n"
    )
    public = "".join(project.public.values())
    assert UI_COOKIE not in public and UI_CSRF not in public
    # each Ory container also answers to its ports' Kubernetes Service names
    assert {name: services[name]["networks"] for name in ("hydra", "kratos", "keto")} == {
        "hydra": {"default": {"aliases": ["hydra-public", "hydra-admin"]}},
        "kratos": {"default": {"aliases": ["kratos-public", "kratos-admin"]}},
        "keto": {"default": {"aliases": ["keto-read", "keto-write"]}},
    }

    # Kubernetes: the chart gets the same URLs, and its secrets from the `ui-secrets` Secret
    values = helm_values.values(topology, "ui")
    assert {
        key: values[key]
        for key in ("kratosPublicUrl", "kratosBrowserUrl", "kratosAdminUrl", "hydraAdminUrl")
    } == {
        "kratosPublicUrl": "http://kratos-public:4433",
        "kratosBrowserUrl": "http://127.0.0.1:5433",
        "kratosAdminUrl": "http://kratos-admin:4434",
        "hydraAdminUrl": "http://hydra-admin:4445",
    }
    assert values["fullnameOverride"] == "ui"
    assert values["service"] == {"type": "ClusterIP", "port": 3000}
    assert values["config"] == {"csrfCookieName": "iam_sandbox_ui_csrf"}
    assert values["secret"] == {"enabled": False, "nameOverride": "ui-secrets"}
    assert values["deployment"]["extraEnv"] == [
        {"name": "DANGEROUSLY_DISABLE_SECURE_CSRF_COOKIES", "value": "true"},
        {"name": "REMEMBER_CONSENT_SESSION_FOR_SECONDS", "value": "3600"},
    ]


def test_without_the_login_profile_there_is_no_ui_and_its_memory_is_free() -> None:
    with_ui = Topology(Settings())
    without = Topology(Settings(profiles=[]))
    assert [c.name for c in without.components] == ["hydra", "kratos", "keto"]
    services = compose.compose_model(without)["services"]
    assert "ui" not in services
    assert "secrets/ui.env" not in compose.render_project(without, SECRETS).secret
    assert with_ui.peak_memory() - without.peak_memory() == 128
    assert sorted(helm_values.all_values(without)) == ["hydra", "keto", "kratos"]
