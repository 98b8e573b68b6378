"""make deb: the package unpacks (dpkg -x) into a throw-away root with the
expected files, modes and conffile, and its Depends lists the runtime
libraries bin/api is linked against (computed by dpkg-shlibdeps), so
`apt install ./redlight_*.deb` on a clean Debian 12 pulls them."""

import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    for tool in ("dpkg-deb", "dpkg-shlibdeps"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing (make deps installs dpkg-dev)")
    out = tmp_path_factory.mktemp("deb") / "redlight_1.2.3_test.deb"
    subprocess.run([os.path.join(ROOT, "remote", "deb", "build.sh"),
                    str(out), "1.2.3", "amd64"], check=True, cwd=ROOT,
                   capture_output=True, timeout=120)
    return out


def field(deb, name):
    return subprocess.run(["dpkg-deb", "-f", str(deb), name], check=True,
                          capture_output=True, text=True).stdout.strip()


def test_metadata_and_depends(deb):
    assert field(deb, "Package") == "redlight"
    assert field(deb, "Version") == "1.2.3"
    depends = [d.strip().split()[0] for d in field(deb, "Depends").split(",")]
    for lib in ("libmicrohttpd12", "libpq5", "libjansson4", "libsodium23",
                "libcurl4", "libc6"):
        assert lib in depends, depends


def test_files_modes_and_conffile(deb, tmp_path):
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    migrations = sorted(os.listdir(os.path.join(ROOT, "migrations")))
    want = {
        "usr/bin/redlight-api": 0o755,
        "lib/systemd/system/redlight.service": 0o644,
        "lib/systemd/system/redlight.socket": 0o644,
        "etc/redlight/redlight.env": 0o640,
        "usr/share/redlight/Caddyfile": 0o644,
    }
    want.update({f"usr/share/redlight/migrations/{m}": 0o644
                 for m in migrations})
    for rel, mode in want.items():
        path = root / rel
        assert path.is_file(), rel
        assert path.stat().st_mode & 0o777 == mode, (rel, oct(mode))
    got = sorted(os.listdir(root / "usr/share/redlight/migrations"))
    assert got == migrations
    # The unit runs what the package installs.
    unit = (root / "lib/systemd/system/redlight.service").read_text()
    assert "ExecStart=/usr/bin/redlight-api " in unit
    # The default config is a conffile: upgrades keep the operator's edits.
    ctrl = tmp_path / "control"
    subprocess.run(["dpkg-deb", "-e", str(deb), str(ctrl)], check=True)
    assert (ctrl / "conffiles").read_text().split() == [
        "/etc/redlight/redlight.env"]
    assert os.access(ctrl / "postinst", os.X_OK)
    # The packaged binary runs (its libraries are the ones in Depends).
    out = subprocess.run([str(root / "usr/bin/redlight-api"), "-version"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.startswith("Version:")
