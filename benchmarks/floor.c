/* The C floor: read the files gitward reads, parse nothing.

     floor host ROOT...   walk each root like gitward's discovery (a directory with HEAD,
                          objects and refs is a repository; a .git directory is one; a .git
                          file naming a linked worktree's git dir is skipped; never descend into
                          a repository, objects/ or a hidden entry), and for every repository
                          read HEAD, config, packed-refs, every file under refs/ and every file
                          in worktrees/<id>/.
     floor repo GIT_DIR   the same reads for one repository (what `gitward refs` needs).

   Single-threaded, one read() per file into a reused buffer (packed-refs: whole file). It
   prints how many repositories, files and bytes it read, so the work cannot be optimised away
   and the benchmark can check it read what gitward read. It is a lower bound on the I/O and
   syscalls of the job, not a competitor: it answers no question.
*/
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static long repos, files, bytes_read;
static char *buf;
static size_t buf_size = 1 << 16;

static void read_file(const char *path) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t n;
    while ((n = read(fd, buf, buf_size)) > 0) bytes_read += n;
    files++;
    close(fd);
}

static int is_dir_entry(const char *parent, struct dirent *e) {
    if (e->d_type == DT_DIR) return 1;
    if (e->d_type != DT_UNKNOWN && e->d_type != DT_LNK) return 0;
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", parent, e->d_name);
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Every file below dir (refs/), recursively; dot entries skipped as git does. */
static void read_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (e->d_type == DT_DIR) read_tree(path);
        else read_file(path);
    }
    closedir(d);
}

static void read_repo(const char *git_dir) {
    char path[4096];
    repos++;
    snprintf(path, sizeof path, "%s/HEAD", git_dir); read_file(path);
    snprintf(path, sizeof path, "%s/config", git_dir); read_file(path);
    snprintf(path, sizeof path, "%s/packed-refs", git_dir); read_file(path);
    snprintf(path, sizeof path, "%s/refs", git_dir); read_tree(path);
    snprintf(path, sizeof path, "%s/worktrees", git_dir);
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char admin[4096];
        snprintf(admin, sizeof admin, "%s/%s", path, e->d_name);
        DIR *a = opendir(admin);
        if (!a) continue;
        struct dirent *f;
        while ((f = readdir(a))) {
            if (f->d_type != DT_REG) continue;
            char file[4096];
            snprintf(file, sizeof file, "%s/%s", admin, f->d_name);
            read_file(file);
        }
        closedir(a);
    }
    closedir(d);
}

static int exists(const char *dir, const char *name, int want_dir) {
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (lstat(path, &st) != 0) return 0;
    return want_dir ? S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode) : 1;
}

static int is_git_dir(const char *dir) {
    return exists(dir, "HEAD", 0) && exists(dir, "objects", 1) && exists(dir, "refs", 0);
}

static void walk(const char *dir, int depth) {
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/.git", dir);
    if (lstat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            if (is_git_dir(path)) { read_repo(path); return; }
        } else if (S_ISREG(st.st_mode)) {
            /* A .git file: a linked worktree (its git dir has commondir) or a separate git dir. */
            int fd = open(path, O_RDONLY | O_NONBLOCK);
            if (fd >= 0) {
                ssize_t n = read(fd, buf, 4095);
                close(fd);
                if (n > 8 && !strncmp(buf, "gitdir: ", 8)) {
                    buf[n] = 0;
                    char *end = strchr(buf, '\n');
                    if (end) *end = 0;
                    char target[4096];
                    snprintf(target, sizeof target, "%s", buf + 8);
                    if (!exists(target, "commondir", 0) && is_git_dir(target)) read_repo(target);
                    return;
                }
            }
        }
    } else if (is_git_dir(dir)) {
        if (!exists(dir, "commondir", 0)) read_repo(dir);
        return;
    }
    if (depth >= 8) return;
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "objects")) continue;
        if (!is_dir_entry(dir, e)) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        walk(path, depth + 1);
    }
    closedir(d);
}

int main(int argc, char **argv) {
    if (argc < 3 || (strcmp(argv[1], "host") && strcmp(argv[1], "repo"))) {
        fprintf(stderr, "usage: floor host ROOT... | floor repo GIT_DIR\n");
        return 2;
    }
    if (!strcmp(argv[1], "repo")) buf_size = 1 << 20; /* packed-refs in 1 MiB reads */
    buf = malloc(buf_size);
    if (!buf) return 1;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[1], "repo")) read_repo(argv[i]);
        else walk(argv[i], 0);
    }
    printf("%ld repos %ld files %ld bytes\n", repos, files, bytes_read);
    return 0;
}
