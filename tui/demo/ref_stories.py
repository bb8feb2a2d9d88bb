"""The demo's stories about refs: the Gerrit project and All-Users, the busy, locked and
corrupt GitLab repositories, and the mirror behind its upstream."""

from __future__ import annotations

from collections.abc import Mapping

from tui.demo.histories import GerritChange, linear_history, meta_config_history
from tui.demo.plumbing import (
    Build,
    FastImport,
    GERRIT_SERVER,
    HOUR,
    Objects,
    change_ref,
    init_repo,
    run_git,
    set_age,
    starred_ref,
    write_loose_ref,
    write_loose_refs,
    write_packed_refs,
)


# --------------------------------------------------------------------------- story 1: Gerrit project


def gerrit_project_alpha(build: Build) -> None:
    """Copied with rsync without --delete, then the source ran gc: stale loose refs win.

    The packed values are the newer ones (merged changes, new review comments); the loose files
    are ancestors left behind from the first copy.
    """
    git_dir = init_repo(build.host / "gerrit/project-alpha.git", bare=True)
    fi = FastImport()
    master = linear_history(fi, "alpha", 10)
    stable = linear_history(fi, "alpha-stable", 3, base=master[4])
    config = meta_config_history(fi, 3)
    changes = {n: GerritChange(fi, n, base=master[-1 if n < 1008 else -3]) for n in range(1001, 1015)}
    # Change 1001 was merged (master fast-forwarded to it), then 1004 was rebased onto it and
    # merged too. 1002 got a review comment and 1007 a third patch set.
    before_merge_1001 = changes[1001].meta[-1]
    merged_1001 = changes[1001].merge(fi)
    before_merge_1004 = changes[1004].meta[-1]
    changes[1004].upload_patch_set(fi, parent=merged_1001)
    merged_1004 = changes[1004].merge(fi)
    before_comment_1002 = changes[1002].meta[-1]
    changes[1002].comment(fi, "Nit: please add a test for the empty case.")
    before_ps3_1007 = changes[1007].meta[-1]
    changes[1007].upload_patch_set(fi)
    v11 = fi.tag("v1.1", master[5], "Alpha 1.1\n")
    v20 = fi.tag("v2.0", master[9], "Alpha 2.0\n")
    objects = fi.run(git_dir)

    # What the source had packed at the final rsync: the newest values.
    packed = {
        "refs/heads/master": objects[merged_1004],
        "refs/heads/stable-1.0": objects[stable[-1]],
        "refs/meta/config": objects[config[-1]],
        "refs/tags/v1.0": objects[master[2]],
        "refs/tags/v1.1": objects[v11],
        "refs/tags/v2.0": objects[v20],
    }
    for number, change in changes.items():
        if number < 1013:  # 1013 and 1014 were created after the source's gc: loose only
            packed.update(change.refs(objects))
    write_packed_refs(git_dir, packed, objects.peeled)

    # Left over from the first rsync: older values of refs that moved since.
    stale = {
        "refs/heads/master": objects[master[-1]],
        "refs/heads/stable-1.0": objects[stable[0]],
        "refs/meta/config": objects[config[1]],
    }
    for number, meta in (
        (1001, before_merge_1001),
        (1002, before_comment_1002),
        (1004, before_merge_1004),
        (1007, before_ps3_1007),
    ):
        stale[change_ref(number, "meta")] = objects[meta]
    write_loose_refs(git_dir, stale)
    for number in (1013, 1014):
        write_loose_refs(git_dir, changes[number].refs(objects))




# --------------------------------------------------------------------------- story 2: All-Users

STARRING_ACCOUNTS = range(1000000, 1000012)
STARRED_CHANGES = range(1001, 1251)


def gerrit_all_users(build: Build) -> None:
    """Every star is a ref to the same blob: thousands of refs, most packed, recent ones loose."""
    git_dir = init_repo(build.host / "gerrit/All-Users.git", bare=True)
    fi = FastImport()
    star = fi.blob(b"star\n")
    config = fi.commit(
        "Initialize All-Users\n",
        files={"project.config": b"[access]\n\tinheritFrom = All-Projects\n"},
        author=GERRIT_SERVER,
    )
    users = {
        account: fi.commit(
            f"Create account {account}\n",
            files={"account.config": f"[account]\n\tfullName = User {account}\n".encode()},
            author=GERRIT_SERVER,
        )
        for account in STARRING_ACCOUNTS
    }
    objects = fi.run(git_dir)

    packed = {"refs/meta/config": objects[config]}
    packed.update({f"refs/users/{a % 100:02d}/{a}": objects[c] for a, c in users.items()})
    loose = {}
    for change in STARRED_CHANGES:
        starred = loose if change > 1240 else packed  # starred since the last gc
        for account in STARRING_ACCOUNTS:
            starred[starred_ref(change, account)] = objects[star]
    write_packed_refs(git_dir, packed)
    write_loose_refs(git_dir, loose)
    # HEAD stays on the unborn refs/heads/master: All-Users has no branches, and a HEAD that
    # points outside refs/heads/ (e.g. at refs/meta/config) makes `git fsck` fail.


# --------------------------------------------------------------------------- story 3: busy GitLab repo

# git refuses this name ("[" is not allowed in refs), but a file can still be put there on disk;
# git then ignores it with a warning. It shows that ref names are shown escaped, never as markup.
MARKUP_REF = "refs/heads/[bold red]not-markup"
FAKE_CREDENTIAL_URL = "https://ci-bot:not-a-real-secret@gitlab.example.com/acme/busy-service.git"


def gitlab_busy_service(build: Build) -> None:
    """Hundreds of loose refs since the last pack-refs: normal (dead-packed) and identical shadows."""
    git_dir = init_repo(build.host / "gitlab/busy-service.git", bare=True, branch="main")
    fi = FastImport()
    main = linear_history(fi, "service", 24)
    develop = linear_history(fi, "service-develop", 6, base=main[15])
    release = linear_history(fi, "service-release", 2, base=main[12])
    features = {name: linear_history(fi, f"feature-{name}", 3, base=main[10 + i]) for i, name in enumerate("abcde")}
    v10 = fi.tag("v1.0", main[12], "busy-service 1.0\n")
    objects = fi.run(git_dir)

    def head(name: str) -> str:
        return f"refs/heads/{name}"

    # The last `git pack-refs`, weeks ago.
    packed = {
        head("main"): objects[main[17]],
        head("develop"): objects[develop[2]],
        head("release/1.x"): objects[release[-1]],
        "refs/tags/v0.9": objects[main[8]],
        "refs/tags/v1.0": objects[v10],
    }
    packed.update({head(f"feature/{n}"): objects[c[0 if n in "abc" else -1]] for n, c in features.items()})
    write_packed_refs(git_dir, packed, objects.peeled)
    # Normal pushes since then wrote loose files that descend from the packed values.
    dead_packed = {head("main"): objects[main[-1]], head("develop"): objects[develop[-1]]}
    dead_packed.update({head(f"feature/{n}"): objects[features[n][-1]] for n in "abc"})
    # A pack-refs killed before it deleted the loose files leaves identical copies.
    identical = {name: packed[name] for name in (head("release/1.x"), head("feature/d"), "refs/tags/v0.9")}
    write_loose_refs(git_dir, dead_packed | identical)
    write_loose_refs(git_dir, _gitlab_backlog(objects, main, features))
    write_loose_ref(git_dir, MARKUP_REF, objects[main[-1]])
    with open(git_dir / "config", "a") as config:
        # A pull mirror's remote with a credential in the URL: shown redacted, never in clear.
        config.write(f'[remote "upstream"]\n\turl = {FAKE_CREDENTIAL_URL}\n\tfetch = +refs/heads/*:refs/heads/*\n')


def _gitlab_backlog(objects: Objects, main: list[int], features: Mapping[str, list[int]]) -> dict[str, str]:
    """The refs GitLab keeps creating: merge request heads, pipelines, keep-arounds, deployments."""
    feature_tips = [objects[c] for commits in features.values() for c in commits]
    refs = {f"refs/merge-requests/{i}/head": feature_tips[i % len(feature_tips)] for i in range(1, 81)}
    refs.update({f"refs/pipelines/{i}": objects[main[i % len(main)]] for i in range(1, 151)})
    refs.update({f"refs/keep-around/{objects[c]}": objects[c] for c in main[:25]})
    refs.update({f"refs/environments/production/deployments/{i}": objects[main[i % len(main)]] for i in range(1, 31)})
    return refs


# --------------------------------------------------------------------------- stories 6, 7: locks, corruption

def gitlab_locked_repo(build: Build) -> None:
    """A `git pack-refs` killed two hours ago left packed-refs.lock; a dead push left a ref lock."""
    git_dir = init_repo(build.host / "gitlab/locked-repo.git", bare=True, branch="main")
    fi = FastImport()
    main = linear_history(fi, "locked", 5)
    feature = linear_history(fi, "locked-feature", 2, base=main[2])
    objects = fi.run(git_dir)
    refs = {
        "refs/heads/main": objects[main[-1]],
        "refs/heads/feature": objects[feature[0]],
        "refs/tags/v1": objects[main[1]],
    }
    write_packed_refs(git_dir, refs)
    # The lock holds the content the killed pack-refs was about to install.
    packed_lock = git_dir / "packed-refs.lock"
    packed_lock.write_bytes((git_dir / "packed-refs").read_bytes())
    set_age(packed_lock, build.now, 2 * HOUR)
    # A ref lock holds the value the dead push meant to write.
    ref_lock = git_dir / "refs/heads/feature.lock"
    ref_lock.write_text(objects[feature[1]] + "\n")
    set_age(ref_lock, build.now, 3 * HOUR)


def gitlab_corrupt_packed(build: Build) -> None:
    """packed-refs with a torn line in the middle and entries out of order under a `sorted` claim."""
    git_dir = init_repo(build.host / "gitlab/corrupt-packed.git", bare=True, branch="main")
    fi = FastImport()
    main = linear_history(fi, "corrupt", 4)
    objects = fi.run(git_dir)
    tip, older = objects[main[-1]], objects[main[1]]
    (git_dir / "packed-refs").write_text(
        "# pack-refs with: peeled fully-peeled sorted \n"
        f"{tip} refs/tags/v1.0\n"  # out of order: tags before heads
        f"{tip} refs/heads/main\n"
        f"{older[:17]} refs/heads/rele\n"  # torn write: a short id and a cut name
        f"{older} refs/heads/develop\n"
    )
    write_loose_ref(git_dir, "refs/heads/hotfix", tip)


# --------------------------------------------------------------------------- story 5: mirror


def mirror_upstream_lib(build: Build) -> None:
    """A bare mirror cloned from upstream, last fetched three days ago; upstream has moved on."""
    upstream = init_repo(build.upstreams / "upstream-lib.git", bare=True, branch="main")
    fi = FastImport()
    main = linear_history(fi, "lib", 8)
    release = linear_history(fi, "lib-release", 2, base=main[3])
    old_feature = linear_history(fi, "lib-old-feature", 1, base=main[5])
    v10 = fi.tag("v1.0", main[3], "lib 1.0\n")
    v11 = fi.tag("v1.1", main[7], "lib 1.1\n")
    main_next = linear_history(fi, "lib", 3, base=main[-1])
    release_next = linear_history(fi, "lib-release", 1, base=release[-1])
    asyncio = linear_history(fi, "lib-async", 2, base=main[-1])
    v12 = fi.tag("v1.2", main_next[-1], "lib 1.2\n")
    objects = fi.run(upstream)
    tags = {"refs/tags/v1.0": objects[v10], "refs/tags/v1.1": objects[v11]}
    before = {
        "refs/heads/main": objects[main[-1]],
        "refs/heads/release/1.x": objects[release[-1]],
        "refs/heads/old-feature": objects[old_feature[-1]],
    }
    write_packed_refs(upstream, before | tags, objects.peeled)

    mirror = build.host / "mirrors/upstream-lib.git"
    run_git("clone", "--mirror", "-q", upstream.as_uri(), mirror)
    run_git("-C", mirror, "fetch", "-q")  # leaves FETCH_HEAD: "last fetched"
    set_age(mirror / "FETCH_HEAD", build.now, 3 * 24 * HOUR)
    build.remember_paths_in(mirror / "config", mirror / "FETCH_HEAD")

    # Since then upstream got new commits, a new branch and tag, and deleted old-feature.
    after = {
        "refs/heads/main": objects[main_next[-1]],
        "refs/heads/release/1.x": objects[release_next[-1]],
        "refs/heads/feature/async": objects[asyncio[-1]],
        "refs/tags/v1.2": objects[v12],
    }
    write_packed_refs(upstream, after | tags, objects.peeled)
