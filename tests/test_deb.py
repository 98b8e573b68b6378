"""make deb: the Debian package, built with dpkg-buildpackage and debhelper
from remote/deb/debian (remote/deb/build.sh), and its version scheme
(remote/deb/version.sh).

- version.sh, in throw-away clones: 1.0.0+git<commits>.<hash>, a new commit
  sorts higher for dpkg, .dirty for uncommitted changes, the shallow-clone
  and no-git fallbacks sort below, REDLIGHT_VERSION overrides.
- The .deb: metadata, Depends from dpkg-shlibdeps, files and modes, the man
  page, changelog and copyright; lintian reports no error and no warning.
- In a Debian 12 chroot (debootstrap --variant=minbase, cached as a tar in
  /var/cache/redlight-tests so reruns take seconds; needs root): `apt
  install ./redlight_*.deb`, `redlight-api -version`, `migrate up` with the
  packaged default migrations directory against a fresh database of the
  test cluster, an upgrade to a newer build (dpkg logs "upgrade", the
  settings survive), `apt remove` (settings kept) and `apt purge` (gone).
  Every chroot command and its output go to build/test-deb/chroot.log.
"""

import fcntl
import glob
import os
import re
import shutil
import subprocess
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VERSION_SH = os.path.join(ROOT, "remote", "deb", "version.sh")
BUILD_SH = os.path.join(ROOT, "remote", "deb", "build.sh")
OUT = os.path.join(ROOT, "build", "test-deb")
CACHE = os.environ.get("REDLIGHT_TEST_CACHE", "/var/cache/redlight-tests")
MIRROR = os.environ.get("REDLIGHT_DEBIAN_MIRROR",
                        "http://deb.debian.org/debian")
CHROOT_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
VERSION_RE = r"1\.0\.0\+git(\d+)\.[0-9a-f]{7}"


def need(*tools):
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing (make deps installs it)")


def run(argv, timeout=120, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("check", False)
    return subprocess.run(argv, timeout=timeout, **kw)


def dpkg_gt(a, b):
    return run(["dpkg", "--compare-versions", a, "gt", b]).returncode == 0


# --- version.sh --------------------------------------------------------------

def version_of(repo, env=None):
    """version.sh run on another checkout (git honours GIT_DIR and
    GIT_WORK_TREE after version.sh's cd)."""
    e = dict(os.environ)
    e.pop("REDLIGHT_VERSION", None)
    if repo is not None:
        e["GIT_DIR"] = os.path.join(repo, ".git")
        e["GIT_WORK_TREE"] = repo
    e.update(env or {})
    return run([VERSION_SH], env=e, timeout=30)


def git(repo, *args):
    proc = run(["git", "-C", repo, "-c", "user.name=t",
                "-c", "user.email=t@example.com", *args], timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_version_always_increases(tmp_path):
    need("git", "dpkg")
    full = str(tmp_path / "full")
    git(ROOT, "clone", "-q", "--no-hardlinks", ROOT, full)
    v1 = version_of(full)
    assert v1.returncode == 0, v1.stderr
    v1 = v1.stdout.strip()
    count = git(full, "rev-list", "--count", "HEAD")
    short = git(full, "rev-parse", "--short=7", "HEAD")
    assert v1 == f"1.0.0+git{count}.{short}"
    assert re.fullmatch(VERSION_RE, v1)

    # The next commit sorts higher, whatever its hash.
    git(full, "commit", "-q", "--allow-empty", "-m", "next")
    v2 = version_of(full).stdout.strip()
    assert v2.startswith(f"1.0.0+git{int(count) + 1}."), v2
    assert dpkg_gt(v2, v1), (v2, v1)

    # Uncommitted changes to a tracked file: .dirty, above the clean build.
    with open(os.path.join(full, "README.md"), "a", encoding="utf-8") as f:
        f.write("\nlocal edit\n")
    v3 = version_of(full).stdout.strip()
    assert v3 == v2 + ".dirty"
    assert dpkg_gt(v3, v2)

    # A shallow clone cannot count: +git0, below every full-clone build.
    shallow = str(tmp_path / "shallow")
    git(ROOT, "clone", "-q", "--depth", "1", f"file://{full}", shallow)
    vs = version_of(shallow)
    assert vs.returncode == 0, vs.stderr
    assert re.fullmatch(r"1\.0\.0\+git0\.[0-9a-f]{7}", vs.stdout.strip())
    assert "shallow clone" in vs.stderr
    assert dpkg_gt(v1, vs.stdout.strip())

    # No git at all (a tarball): 1.0.0, below every git build.
    bare = tmp_path / "tarball"
    bare.mkdir()
    shutil.copy(VERSION_SH, bare / "version.sh")
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("GIT_") and k != "REDLIGHT_VERSION"}
    e["GIT_CEILING_DIRECTORIES"] = str(tmp_path)
    vn = run([str(bare / "version.sh")], env=e, timeout=30)
    assert (vn.returncode, vn.stdout) == (0, "1.0.0\n"), vn.stderr
    assert dpkg_gt(vs.stdout.strip(), "1.0.0")

    # REDLIGHT_VERSION wins; what dpkg could not parse is refused.
    vo = version_of(full, {"REDLIGHT_VERSION": "1.0.0+git999.abcdef0"})
    assert (vo.returncode, vo.stdout) == (0, "1.0.0+git999.abcdef0\n")
    bad = version_of(full, {"REDLIGHT_VERSION": "next version"})
    assert bad.returncode == 1 and bad.stdout == ""
    assert "not a Debian version" in bad.stderr


# --- the package -------------------------------------------------------------

def newer(version):
    """The version of the next commit's build."""
    m = re.fullmatch(r"(.*\+git)(\d+)(\..*)", version)
    return f"{m[1]}{int(m[2]) + 1}{m[3]}" if m else version + "+1"


def build(version):
    proc = run([BUILD_SH, OUT, version], timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    path = proc.stdout.strip().splitlines()[-1]
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    assert os.path.basename(path) == f"redlight_{version}_{arch}.deb"
    return path


@pytest.fixture(scope="module")
def debs():
    """The package of this tree and a newer build of it, built while the
    chroot's base system is prepared (a cold cache downloads it)."""
    need("dpkg-buildpackage", "dh", "help2man", "lintian", "dpkg-deb")
    os.makedirs(OUT, exist_ok=True)
    for old in glob.glob(os.path.join(OUT, "redlight_*")):
        os.remove(old)
    v1 = run([VERSION_SH]).stdout.strip()
    v2 = newer(v1)
    built = {}

    def builder():
        try:
            built["old"] = build(v1)
            built["new"] = build(v2)
        except AssertionError as e:  # reported by the main thread
            built["error"] = str(e)

    t = threading.Thread(target=builder)
    t.start()
    base = None
    try:
        if os.geteuid() == 0:
            base = base_tar()
    finally:
        t.join()
    assert "error" not in built, built.get("error")
    return {"v1": v1, "v2": v2, "old": built["old"], "new": built["new"],
            "base": base}


def field(deb, name):
    return subprocess.run(["dpkg-deb", "-f", str(deb), name], check=True,
                          capture_output=True, text=True).stdout.strip()


def test_metadata_and_depends(debs):
    deb = debs["old"]
    assert field(deb, "Package") == "redlight"
    assert field(deb, "Version") == debs["v1"]
    depends = [d.strip().split()[0] for d in field(deb, "Depends").split(",")]
    for lib in ("libmicrohttpd12", "libpq5", "libjansson4", "libsodium23",
                "libcurl4", "libc6", "adduser"):
        assert lib in depends, depends


def test_files_modes_manpage_changelog(debs, tmp_path):
    deb = debs["old"]
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    migrations = sorted(os.listdir(os.path.join(ROOT, "migrations")))
    want = {
        "usr/bin/redlight-api": 0o755,
        "lib/systemd/system/redlight.service": 0o644,
        "lib/systemd/system/redlight.socket": 0o644,
        "usr/share/redlight/redlight.env": 0o644,
        "usr/share/redlight/Caddyfile": 0o644,
        "usr/share/man/man1/redlight-api.1.gz": 0o644,
        "usr/share/doc/redlight/copyright": 0o644,
        "usr/share/doc/redlight/changelog.gz": 0o644,
        "usr/share/doc/redlight/README.md": 0o644,
    }
    want.update({f"usr/share/redlight/migrations/{m}": 0o644
                 for m in migrations})
    for rel, mode in want.items():
        path = root / rel
        assert path.is_file(), rel
        assert path.stat().st_mode & 0o777 == mode, (rel, oct(mode))
    assert sorted(os.listdir(root / "usr/share/redlight/migrations")) == \
        migrations
    # The settings file holds secrets: the postinst makes it from the
    # template, so it is neither shipped in /etc nor a conffile.
    assert not (root / "etc").exists()
    ctrl = tmp_path / "control"
    subprocess.run(["dpkg-deb", "-e", str(deb), str(ctrl)], check=True)
    assert not (ctrl / "conffiles").exists()
    for script in ("postinst", "postrm"):
        assert os.access(ctrl / script, os.X_OK), script
    unit = (root / "lib/systemd/system/redlight.service").read_text()
    assert "ExecStart=/usr/bin/redlight-api " in unit
    assert "EnvironmentFile=/etc/redlight/redlight.env" in unit

    man = run(["zcat", str(root / "usr/share/man/man1/redlight-api.1.gz")])
    assert man.returncode == 0
    assert re.search(r"^redlight-api \\- JSON API server", man.stdout, re.M)
    assert "/etc/redlight/redlight.env" in man.stdout
    assert "-db-dsn" in man.stdout.replace("\\-", "-")
    log = run(["zcat", str(root / "usr/share/doc/redlight/changelog.gz")])
    assert log.stdout.startswith(f"redlight ({debs['v1']}) unstable;")
    assert "License: Expat" in \
        (root / "usr/share/doc/redlight/copyright").read_text()

    out = run([str(root / "usr/bin/redlight-api"), "-version"])
    assert out.returncode == 0
    assert out.stdout.split() == ["Version:", debs["v1"]]


def test_lintian_clean(debs):
    """No tag at all, even with --pedantic -I: the one info tag the package
    overrides (no init.d script: systemd only) is not shown, and an
    override that no longer matches would show as unused-override."""
    os.makedirs(OUT, exist_ok=True)
    opts = ["--pedantic", "-I", "--fail-on", "error,warning"]
    proc = run(["lintian", *opts, debs["old"]], timeout=300)
    with open(os.path.join(OUT, "lintian.txt"), "w", encoding="utf-8") as f:
        f.write(f"$ lintian {' '.join(opts)} "
                f"{os.path.basename(debs['old'])}\n{proc.stdout}"
                f"{proc.stderr}exit {proc.returncode}\n")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    tags = [ln for ln in proc.stdout.splitlines()
            if re.match(r"[EWIPXCON]: ", ln)]
    assert tags == [], tags


# --- the chroot --------------------------------------------------------------

def base_tar():
    """/var/cache/redlight-tests/deb-bookworm-minbase-ARCH.tar: a fresh
    `debootstrap --variant=minbase bookworm` (with its apt lists), made once
    under a lock; tests unpack a copy and never change it."""
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    tar = os.path.join(CACHE, f"deb-bookworm-minbase-{arch}.tar")
    os.makedirs(CACHE, exist_ok=True)
    with open(os.path.join(CACHE, "deb-bookworm.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(tar):
            return tar
        need("debootstrap")
        work = os.path.join(CACHE, f"deb-bookworm.{os.getpid()}")
        shutil.rmtree(work, ignore_errors=True)
        try:
            proc = run(["debootstrap", "--variant=minbase", "bookworm",
                        work, MIRROR], timeout=600)
            assert proc.returncode == 0, \
                "debootstrap failed:\n" + (proc.stdout + proc.stderr)[-3000:]
            # debootstrap leaves the base system's .debs behind (100 MB).
            for deb in glob.glob(os.path.join(work, "var/cache/apt/archives",
                                              "*.deb")):
                os.remove(deb)
            proc = run(["tar", "-C", work, "-cf", tar + ".part", "."],
                       timeout=300)
            assert proc.returncode == 0, proc.stderr
            os.rename(tar + ".part", tar)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return tar


class Chroot:
    """An unpacked copy of the base with /proc and a private /dev/pts;
    every command and its output are appended to the log."""

    def __init__(self, tar, path, log):
        self.path = str(path)
        self.log = log
        self.mounts = []
        os.makedirs(self.path)
        proc = run(["tar", "-C", self.path, "-xf", tar], timeout=300)
        assert proc.returncode == 0, proc.stderr
        shutil.copy("/etc/resolv.conf", os.path.join(self.path, "etc"))
        # A throw-away root: dpkg need not fsync every file (the 26
        # packages of the first install take 30 s instead of 10 otherwise).
        with open(os.path.join(self.path, "etc/dpkg/dpkg.cfg.d/unsafe-io"),
                  "w", encoding="utf-8") as f:
            f.write("force-unsafe-io\n")
        self.mount(["-t", "proc", "proc"], "proc")
        self.mount(["-t", "devpts", "-o", "newinstance,ptmxmode=0666",
                    "devpts"], "dev/pts")
        # Downloaded packages are kept for the next run (a private copy,
        # so concurrent runs never share apt's lock).
        self.archives = os.path.join(CACHE, "deb-apt-archives")
        os.makedirs(self.archives, exist_ok=True)
        for deb in glob.glob(os.path.join(self.archives, "*.deb")):
            shutil.copy(deb, os.path.join(self.path, "var/cache/apt/archives"))

    def mount(self, args, rel):
        target = os.path.join(self.path, rel)
        os.makedirs(target, exist_ok=True)
        proc = run(["mount", *args, target], timeout=30)
        assert proc.returncode == 0, proc.stderr
        self.mounts.append(target)

    def sh(self, script, ok=True, timeout=180):
        start = time.monotonic()
        proc = run(["chroot", self.path, "env", "-i", f"PATH={CHROOT_PATH}",
                    "HOME=/root", "LANG=C.UTF-8",
                    "DEBIAN_FRONTEND=noninteractive", "sh", "-ec", script],
                   timeout=timeout, stdin=subprocess.DEVNULL)
        out = re.sub(r"^\(Reading database \.\.\. (\d+%)?\n", "",
                     proc.stdout, flags=re.M)
        if out and not out.endswith("\n"):
            out += "\n"
        self.log.write(f"$ {script}\n{out}{proc.stderr}"
                       f"[exit {proc.returncode}, "
                       f"{time.monotonic() - start:.1f} s]\n\n")
        self.log.flush()
        if ok:
            assert proc.returncode == 0, \
                f"{script}: exit {proc.returncode}\n{proc.stdout}{proc.stderr}"
        return proc

    def close(self):
        src = os.path.join(self.path, "var/cache/apt/archives")
        for deb in glob.glob(os.path.join(src, "*.deb")):
            dest = os.path.join(self.archives, os.path.basename(deb))
            if not os.path.exists(dest):
                shutil.copy(deb, dest + ".part")
                os.rename(dest + ".part", dest)
        for target in reversed(self.mounts):
            run(["umount", "-l", target], timeout=30)
        with open("/proc/mounts", encoding="utf-8") as f:
            if f" {self.path}/" in f.read():
                raise AssertionError(f"mounts remain under {self.path}")
        shutil.rmtree(self.path)


@pytest.fixture
def cluster_db(admin_db):
    """A fresh database of the test cluster, owned by the app's role, and
    its DSN (the chroot shares the host's network)."""
    name = f"redlight_deb_{os.getpid()}"
    admin_db(f"DROP DATABASE IF EXISTS {name}")
    admin_db(f"CREATE DATABASE {name} OWNER redlight")
    parts = urlsplit(os.environ["REDLIGHT_DB_DSN"])
    yield urlunsplit(parts._replace(path=f"/{name}"))
    admin_db(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_install_migrate_upgrade_remove_purge(debs, cluster_db, tmp_path):
    if os.geteuid() != 0:
        pytest.fail("the chroot test needs root (debootstrap, chroot, mount)")
    need("chroot", "mount", "tar")
    v1, v2 = debs["v1"], debs["v2"]
    assert dpkg_gt(v2, v1), (v2, v1)
    latest = max(int(m[:6])
                 for m in os.listdir(os.path.join(ROOT, "migrations"))
                 if m.endswith(".up.sql"))
    with open(os.path.join(OUT, "chroot.log"), "w", encoding="utf-8") as log:
        box = Chroot(debs["base"], tmp_path / "root", log)
        try:
            for key in ("old", "new"):
                shutil.copy(debs[key], os.path.join(box.path, "tmp"))
            old = "/tmp/" + os.path.basename(debs["old"])
            new = "/tmp/" + os.path.basename(debs["new"])

            keep = "-o APT::Keep-Downloaded-Packages=true"
            inst = box.sh(f"apt install -y {keep} {old}", ok=False)
            if inst.returncode != 0 and "fetch" in inst.stderr:
                # The cached lists are older than the mirror: refresh them.
                inst = box.sh("apt-get -q update && "
                              f"apt install -y {keep} {old}")
            assert inst.returncode == 0, inst.stdout + inst.stderr
            assert f"Setting up redlight ({v1}) ..." in inst.stdout
            st = box.sh("dpkg-query -W -f='${Status} ${Version}' redlight")
            assert st.stdout == f"install ok installed {v1}"
            assert box.sh("redlight-api -version").stdout.split() == \
                ["Version:", v1]
            env = box.sh("stat -c '%a %U:%G' /etc/redlight/redlight.env "
                         "/etc/redlight && getent passwd redlight && "
                         "grep -c "
                         "'^REDLIGHT_JWT_SECRET=[A-Za-z0-9_-]\\{48\\}$'"
                         " /etc/redlight/redlight.env").stdout.splitlines()
            assert env[0] == "640 root:redlight" and \
                env[1] == "750 root:redlight", env
            assert env[2].startswith("redlight:") and \
                env[2].endswith(":/var/lib/redlight:/usr/sbin/nologin"), env
            assert env[3] == "1", env
            box.sh("test -L /etc/systemd/system/sockets.target.wants/"
                   "redlight.socket")

            # The migrations are found where the package put them.
            dsn = f"REDLIGHT_DB_DSN='{cluster_db}'"
            box.sh(f"{dsn} redlight-api migrate up")
            assert box.sh(f"{dsn} redlight-api migrate version").stdout \
                .strip() == str(latest)
            # REDLIGHT_MIGRATIONS_DIR still wins over the built-in default.
            miss = box.sh(f"{dsn} REDLIGHT_MIGRATIONS_DIR=/nonexistent "
                          "redlight-api migrate up", ok=False)
            assert miss.returncode != 0
            assert "/nonexistent" in miss.stdout + miss.stderr

            # The operator's settings survive an upgrade.
            box.sh("echo '# edited by the operator' "
                   ">>/etc/redlight/redlight.env")
            up = box.sh(f"apt install -y {new}").stdout
            assert "The following packages will be upgraded:\n  redlight\n" \
                in up
            assert f"Unpacking redlight ({v2}) over ({v1})" in up
            dl = box.sh("grep ' upgrade redlight:' /var/log/dpkg.log").stdout
            assert re.search(rf" upgrade redlight:\S+ {re.escape(v1)} "
                             rf"{re.escape(v2)}$", dl, re.M), dl
            box.sh(f"dpkg --compare-versions '{v2}' gt '{v1}'")
            assert box.sh("redlight-api -version").stdout.split() == \
                ["Version:", v2]
            assert box.sh("tail -n 1 /etc/redlight/redlight.env").stdout == \
                "# edited by the operator\n"
            assert box.sh(f"{dsn} redlight-api migrate up && "
                          f"{dsn} redlight-api migrate version").stdout \
                .strip().splitlines()[-1] == str(latest)

            # remove keeps the settings; purge takes them, the state and
            # the unit's enablement.
            box.sh("apt remove -y redlight")
            st = box.sh("dpkg-query -W -f='${Status}' redlight")
            assert st.stdout == "deinstall ok config-files"
            box.sh("test ! -e /usr/bin/redlight-api && "
                   "test -f /etc/redlight/redlight.env")
            box.sh("apt purge -y redlight")
            gone = box.sh("dpkg-query -W redlight", ok=False)
            assert gone.returncode != 0
            box.sh("test ! -e /etc/redlight && test ! -e /var/lib/redlight "
                   "&& test ! -e /etc/systemd/system/sockets.target.wants/"
                   "redlight.socket")
        finally:
            box.close()
